"""The operator's commands, run as an operator runs them: `python -m broker ...` in a shell."""

from __future__ import annotations

import json
import subprocess
import sys

from testing.harness import REPO, Backend, OSBClient, new_id
from testing.processes import clean_env


def broker_command(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "broker", *args],
        cwd=REPO,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def aws_env(backend: Backend) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": backend.moto.endpoint,
        "AWS_ACCESS_KEY_ID": backend.broker.access_key_id,
        "AWS_SECRET_ACCESS_KEY": backend.broker.secret_access_key,
        "AWS_REGION": "eu-west-2",
    }


def test_policies_are_printed_with_the_settings_filled_in() -> None:
    result = broker_command("policy", "broker", "--account-id", "111122223333", BUCKET_PREFIX="team-a-")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    text = json.dumps(document)
    assert "${" not in text and "arn:aws:s3:::team-a-*" in text
    assert "arn:aws:iam::111122223333:policy/s3-broker-binding-boundary" in text
    boundary = json.loads(broker_command("policy", "boundary", "--account-id", "111122223333").stdout)
    assert {"Version", "Statement"} == set(boundary)


def test_an_account_id_must_be_twelve_digits() -> None:
    for wrong in ("*", "11112222333", "1111-2222-3333", "111122223333*"):
        result = broker_command("policy", "broker", "--account-id", wrong)
        assert result.returncode == 2 and result.stdout == ""
        assert "12 digits" in result.stderr


def test_policy_learns_the_account_from_sts_and_check_reports_it(backend: Backend) -> None:
    boundary = broker_command("policy", "boundary", **aws_env(backend))
    assert boundary.returncode == 0, boundary.stderr
    assert '"123456789012"' in boundary.stdout  # moto's account, from GetCallerIdentity
    checked = broker_command("check", **aws_env(backend))
    assert checked.returncode == 0, checked.stderr
    assert "account 123456789012" in checked.stdout and "s3-service-broker" in checked.stdout
    wrong = broker_command("check", **{**aws_env(backend), "AWS_SECRET_ACCESS_KEY": "wrong"})
    assert wrong.returncode == 1
    assert "AWS refused" in wrong.stderr


def test_list_shows_an_instances_bucket_and_binding_users(backend: Backend, osb: OSBClient) -> None:
    instance_id, binding_id = new_id(), new_id()
    assert osb.provision(instance_id).status_code == 201
    assert osb.bind(instance_id, binding_id).status_code == 201
    listed = broker_command("list", instance_id, **aws_env(backend))
    assert listed.returncode == 0, listed.stderr
    assert f"bucket cf-s3-{instance_id}: present" in listed.stdout
    assert f"binding user cf-s3-{binding_id}" in listed.stdout
