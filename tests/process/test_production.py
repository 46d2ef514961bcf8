"""The broker as Cloud Foundry runs it: a virtualenv with requirements.txt alone (what the Python
buildpack installs), the Procfile's command started from it, the tests' local AWS as its AWS."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from broker.aws.identity import caller_identity
from broker.local.backend import BROKER_USER
from testing.harness import REGION, REPO, SPACE, Backend, free_port, new_id
from testing.processes import cf_env, osb, procfile_command, running

# What only the local backend and the tests need; none of it may reach a Cloud Foundry install.
LOCAL_ONLY = {"moto", "responses", "flask-cors", "awscli", "pytest", "ruff", "cryptography", "requests"}
AUTH = ("cc", "cf-password")


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


def test_the_production_venv_has_nothing_of_the_local_backend(production_python: Path) -> None:
    imported = subprocess.run(
        [str(production_python), "-c", "import moto"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert imported.returncode != 0 and "No module named 'moto'" in imported.stderr
    listing = "import importlib.metadata as m; print('\\n'.join(d.metadata['Name'] for d in m.distributions()))"
    names = subprocess.run([str(production_python), "-c", listing], capture_output=True, text=True, check=True)
    installed = {name.lower().replace("_", "-") for name in names.stdout.split()}
    assert "gunicorn" in installed and not installed & LOCAL_ONLY


def production_env(backend: Backend, port: int, python: Path, **overrides: str) -> dict[str, str]:
    """Cloud Foundry's environment for the app, with the production venv first on PATH (as the buildpack puts it)."""
    env = cf_env(backend, port, **overrides)
    return {**env, "PATH": f"{python.parent}:{env['PATH']}"}


def key_client(credentials: dict[str, Any]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=credentials["endpoint"],
        region_name=credentials.get("region", REGION),
        aws_access_key_id=credentials["access_key_id"],
        aws_secret_access_key=credentials["secret_access_key"],
        config=Config(s3={"addressing_style": "path"}),
    )


def test_a_production_install_serves_a_whole_cycle(backend: Backend, production_python: Path) -> None:
    port = free_port()
    # Cloud Foundry binds 0.0.0.0; here gunicorn's own --bind keeps the test on loopback.
    command = procfile_command("--bind", f"127.0.0.1:{port}", python=production_python)
    assert command[0] == str(production_python.parent / "gunicorn")
    with running(command, production_env(backend, port, production_python), port) as process:
        catalog = osb(port, AUTH, "GET", "/v2/catalog")
        assert catalog.status_code == 200, catalog.text
        service = catalog.json()["services"][0]
        ids = {"service_id": service["id"], "plan_id": service["plans"][0]["id"]}
        instance, binding = new_id(), new_id()
        context = {"platform": "cloudfoundry", "organization_guid": new_id(), "space_guid": SPACE}
        body = {**ids, "organization_guid": context["organization_guid"], "space_guid": SPACE, "context": context}
        path = f"/v2/service_instances/{instance}"
        provisioned = osb(port, AUTH, "PUT", path, json=body, params={"accepts_incomplete": "true"})
        assert provisioned.status_code == 201, provisioned.text
        bound = osb(port, AUTH, "PUT", f"{path}/service_bindings/{binding}", json={**ids, "context": context})
        assert bound.status_code == 201, bound.text
        credentials = bound.json()["credentials"]
        key = key_client(credentials)
        key.put_object(Bucket=credentials["bucket"], Key="hello.txt", Body=b"from a production install")
        assert key.get_object(Bucket=credentials["bucket"], Key="hello.txt")["Body"].read().startswith(b"from")
        key.delete_object(Bucket=credentials["bucket"], Key="hello.txt")
        unbound = osb(port, AUTH, "DELETE", f"{path}/service_bindings/{binding}", params=ids)
        assert unbound.status_code == 200, unbound.text
        with pytest.raises(ClientError):
            key.list_objects_v2(Bucket=credentials["bucket"])  # the key went with its binding
        deprovisioned = osb(port, AUTH, "DELETE", path, params=ids)
        assert deprovisioned.status_code == 200, deprovisioned.text
        assert osb(port, AUTH, "GET", path).status_code == 404
    assert process.stdout is not None
    lines = [json.loads(line) for line in process.stdout.read().splitlines() if line.strip()]
    identity = [line for line in lines if "aws_account_id" in line]
    assert len(identity) == 1  # once, by the first worker, not per worker
    assert identity[0]["aws_account_id"] == "123456789012"
    assert identity[0]["aws_identity_arn"].endswith(f":user/{BROKER_USER}")
    assert not any("embedded" in line["message"] for line in lines)


@pytest.mark.parametrize(
    ("key_id", "secret", "code"),
    [
        ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "InvalidClientTokenId"),
        (None, "not-the-secret", "SignatureDoesNotMatch"),
    ],
)
def test_a_production_install_with_a_wrong_key_refuses_to_start(
    backend: Backend, production_python: Path, key_id: str | None, secret: str, code: str
) -> None:
    port = free_port()
    overrides = {"AWS_SECRET_ACCESS_KEY": secret}
    if key_id:
        overrides["AWS_ACCESS_KEY_ID"] = key_id
    result = subprocess.run(
        procfile_command("--bind", f"127.0.0.1:{port}", python=production_python),
        cwd=REPO,
        env=production_env(backend, port, production_python, **overrides),
        capture_output=True,
        text=True,
        timeout=60,
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
