"""docs/users.md, run as an app developer runs it: every shell block in order, `cf` answered by
the OSB requests the Cloud Controller would send (testing/cf_emulator.py), the AWS CLI and jq used
with the credentials the broker hands out, and the Python example run as an app with them."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testing.harness import REPO, Backend, BrokerServer
from testing.processes import clean_env

USERS = REPO / "docs" / "users.md"
FENCE = re.compile(r"^```(sh|python)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def sections(document: Path) -> list[tuple[str, list[tuple[str, str]]]]:
    """(heading, [(language, code)]) for each `## ` section, in order."""
    found: list[tuple[str, list[tuple[str, str]]]] = []
    for part in re.split(r"^## ", document.read_text(), flags=re.MULTILINE)[1:]:
        heading, _, body = part.partition("\n")
        found.append((heading, FENCE.findall(body)))
    return found


@pytest.fixture(scope="module")
def shell(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of a developer's shell: cf logged in to a platform with this broker."""
    home = tmp_path_factory.mktemp("home")
    owner = backend.other_owner  # the migration section's other AWS account
    (home / "credentials").write_text(
        f"[legacy-owner]\naws_access_key_id = {owner.access_key_id}\n"
        f"aws_secret_access_key = {owner.secret_access_key}\n"
    )
    (home / "config").write_text(
        f"[profile legacy-owner]\nregion = eu-west-2\nendpoint_url = {backend.moto.endpoint}\n"
    )
    with BrokerServer(backend.settings()) as server:
        yield clean_env(
            HOME=str(home),
            PATH=f"{REPO / 'testing' / 'cf'}:{Path(sys.executable).parent}:{os.environ['PATH']}",
            PYTHONPATH=str(REPO),
            CF_PYTHON=sys.executable,
            CF_BROKER_URL=server.url,
            CF_BROKER_AUTH=f"{server.settings.broker_username}:{server.settings.broker_password}",
            CF_STATE=str(home / "cf-state.json"),
            CF_POLL_INTERVAL="0.2",  # the Cloud Controller's 60 s between last_operation polls, shortened
            AWS_CONFIG_FILE=str(home / "config"),
            AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
        )


def run(code: str, language: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    command = ["bash", "-euo", "pipefail", "-c", code] if language == "sh" else [sys.executable, "-c", code]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def vcap_services(cf_env: str) -> Any:
    """The VCAP_SERVICES block of what `cf env APP` prints."""
    start = cf_env.index("VCAP_SERVICES: ") + len("VCAP_SERVICES: ")
    return json.JSONDecoder().raw_decode(cf_env, start)[0]


def test_every_command_of_the_users_guide_runs_as_written(
    shell: dict[str, str], backend: Backend, tmp_path: Path
) -> None:
    # The migration section's bucket, in the other account the local backend serves: the key reaches
    # it only once its owner applies the bucket policy the guide hands out (tests/test_walls_accounts.py).
    s3 = backend.client("s3", backend.other_owner)
    s3.create_bucket(Bucket="legacy-assets", CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    s3.put_object(Bucket="legacy-assets", Key="logo.png", Body=b"old logo")
    ran = 0
    for heading, blocks in sections(USERS):
        for language, code in blocks:
            env = dict(shell)
            if language == "python":  # the app of "Bind an app", with what `cf env` shows it
                env["VCAP_SERVICES"] = json.dumps(vcap_services(run("cf env my-app", "sh", shell, tmp_path).stdout))
            result = run(code, language, env, tmp_path)
            assert result.returncode == 0, f"## {heading}\n{code}\n--- out\n{result.stdout}\n--- err\n{result.stderr}"
            ran += 1
            if heading == "Use the credentials in your app":
                assert result.stdout.strip() == "hello"
    assert ran >= 12
    assert s3.get_object(Bucket="legacy-assets", Key="logo.png")["Body"].read() == b"old logo"
    written = {"dump.sql", "cat.png", "note.txt", "draft.txt", "invoice.txt", "legacy-assets-policy.json"}
    assert written <= {path.name for path in tmp_path.iterdir()}  # the guide's files stayed in its directory
    assert not written & {path.name for path in REPO.iterdir()}


OPERATORS = REPO / "docs" / "operators.md"


def test_the_operators_guide_sets_up_aws_deploys_registers_and_rotates(tmp_path: Path, production_python: Path) -> None:
    """On an AWS account with nothing but an administrator, the guide's commands in order: the
    boundary and broker user made from the printed documents, the broker pushed (the Procfile's
    command from a virtualenv with requirements.txt alone, as Cloud Foundry runs it) with them,
    registered, used (a service key that writes and reads an object), and its key rotated."""
    from broker.local import backend
    from testing.harness import MotoProcess, make_user

    aws = MotoProcess().start()
    try:
        admin = make_user(
            aws.endpoint,
            "administrator",
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
        )
        backend.set_enforcement(aws.endpoint, enforce=True)
        env = clean_env(
            PATH=f"{REPO / 'testing' / 'cf'}:{Path(sys.executable).parent}:{os.environ['PATH']}",
            PYTHONPATH=str(REPO),
            CF_PYTHON=sys.executable,
            CF_STATE=str(tmp_path / "cf-state.json"),
            CF_POLL_INTERVAL="0.2",
            CF_APP_LOG=str(tmp_path / "app.log"),
            CF_APP_PYTHON=str(production_python),  # `cf push` starts the app from a production install
            CF_AWS_ENDPOINT_URL=aws.endpoint,
            AWS_ACCESS_KEY_ID=admin.access_key_id,
            AWS_SECRET_ACCESS_KEY=admin.secret_access_key,
            AWS_ENDPOINT_URL=aws.endpoint,
            AWS_DEFAULT_REGION="eu-west-2",  # an administrator's shell has a region configured
        )
        script = "\n".join(code for _heading, blocks in sections(OPERATORS) for lang, code in blocks if lang == "sh")
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
        )
        log = (tmp_path / "app.log").read_text() if (tmp_path / "app.log").exists() else ""
        assert result.returncode == 0, f"--- out\n{result.stdout}\n--- err\n{result.stderr}\n--- app\n{log[-3000:]}"
        assert "Starting app s3-broker" in result.stdout  # deployed,
        assert "Restarting app s3-broker" in result.stdout  # then restarted with the new key
        assert "arn:aws:iam::123456789012:policy/s3-broker-binding-boundary" in result.stdout
        assert "0 failed" in result.stdout  # the preflight, with the broker's key, before the start
        assert "smoke test passed" in result.stdout  # the service key wrote, read back and removed an object
        assert "account 123456789012" in log or '"account' in log  # the start-up check logged the account
        (app,) = json.loads((tmp_path / "cf-state.json").read_text())["apps"].values()
        running = subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(app["pid"])], capture_output=True, text=True)
        assert f"{production_python.parent / 'gunicorn'} --config" in running.stdout, running.stdout
    finally:
        state = tmp_path / "cf-state.json"
        if state.exists():
            for app in json.loads(state.read_text()).get("apps", {}).values():
                if app.get("pid"):
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(app["pid"], signal.SIGTERM)
        aws.stop()
