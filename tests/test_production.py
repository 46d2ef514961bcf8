"""The broker as Cloud Foundry runs it: only requirements.txt installed, the key checked once at start."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError

from broker.aws.identity import caller_identity
from broker.local.backend import BROKER_USER
from testing.harness import REPO, Backend, free_port
from testing.processes import cf_env, clean_env, procfile_command, running

# What only the local backend and the tests need; none of it may reach a Cloud Foundry install.
LOCAL_ONLY = {"moto", "responses", "flask-cors", "awscli", "pytest", "ruff", "cryptography", "requests"}
BLOCKER = """
import sys

class NotOnCloudFoundry:
    # Makes the local backend's packages unimportable, as on a Cloud Foundry install.
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"moto", "responses", "flask_cors"}:
            raise ModuleNotFoundError(f"No module named {name!r} (not installed on Cloud Foundry)")
        return None

sys.meta_path.insert(0, NotOnCloudFoundry())
"""


def requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[\[=<>~! ;]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def test_requirements_txt_holds_only_what_production_runs() -> None:
    production = requirement_names(REPO / "requirements.txt")
    assert {"gunicorn", "boto3", "openbrokerapi"} <= production
    assert not production & LOCAL_ONLY
    assert "moto" in requirement_names(REPO / "requirements-local.txt")
    assert "-r requirements-local.txt" in (REPO / "requirements-dev.txt").read_text()


@pytest.fixture
def without_moto(tmp_path: Path) -> dict[str, str]:
    """An environment in which moto and its server's packages cannot be imported."""
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    return {"PYTHONPATH": f"{tmp_path}:{REPO}"}


def test_the_blocker_blocks(without_moto: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import moto"], env=clean_env(**without_moto), capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "not installed on Cloud Foundry" in result.stderr


def test_app_and_gunicorn_config_import_without_moto(without_moto: dict[str, str]) -> None:
    env = clean_env(**without_moto, VCAP_APPLICATION="{}")
    command = (
        "import broker.http.app, broker.server.gunicorn_config, broker.server.startup, sys; "
        "assert 'moto' not in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", command], cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_on_cloud_foundry_without_moto_it_starts_and_logs_its_aws_identity(
    backend: Backend, without_moto: dict[str, str]
) -> None:
    port = free_port()
    # Cloud Foundry binds 0.0.0.0; here gunicorn's own --bind keeps the test on loopback.
    command = procfile_command("--bind", f"127.0.0.1:{port}")
    with running(command, cf_env(backend, port, **without_moto), port) as process:
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200
        catalog = requests.get(
            f"http://127.0.0.1:{port}/v2/catalog",
            auth=("cc", "cf-password"),
            headers={"X-Broker-API-Version": "2.17"},
            timeout=10,
        )
        assert catalog.status_code == 200
    assert process.stdout is not None
    lines = [json.loads(line) for line in process.stdout.read().splitlines() if line.strip()]
    identity = [line for line in lines if "aws_account_id" in line]
    assert len(identity) == 1  # once, in the master, not per worker
    assert identity[0]["aws_account_id"] == "123456789012"
    assert identity[0]["aws_identity_arn"].endswith(f":user/{BROKER_USER}")
    assert "123456789012" in identity[0]["message"]
    assert not any("embedded" in line["message"] for line in lines)


@pytest.mark.parametrize(
    ("key_id", "secret", "code"),
    [
        ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "InvalidClientTokenId"),
        (None, "not-the-secret", "SignatureDoesNotMatch"),
    ],
)
def test_on_cloud_foundry_a_wrong_key_stops_the_start(
    backend: Backend, without_moto: dict[str, str], key_id: str | None, secret: str, code: str
) -> None:
    port = free_port()
    overrides = {"AWS_SECRET_ACCESS_KEY": secret}
    if key_id:
        overrides["AWS_ACCESS_KEY_ID"] = key_id
    env = cf_env(backend, port, **without_moto, **overrides)
    result = subprocess.run(
        procfile_command("--bind", f"127.0.0.1:{port}"), cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    refusal = [json.loads(line) for line in result.stderr.splitlines() if "refusing to start" in line]
    assert refusal and refusal[0]["level"] == "ERROR"
    assert code in refusal[0]["message"] and "AWS_SECRET_ACCESS_KEY" in refusal[0]["message"]
    assert secret not in result.stderr + result.stdout


def test_caller_identity_names_the_account_and_the_user(backend: Backend) -> None:
    identity = caller_identity(backend.settings())
    assert identity.account_id == "123456789012"
    assert identity.arn == f"arn:aws:iam::123456789012:user/{BROKER_USER}"
    with pytest.raises(ClientError):
        caller_identity(replace(backend.settings(), aws_secret_access_key="wrong"))
