"""The operator's commands, run as an operator runs them: `python -m broker ...` in a shell."""

from __future__ import annotations

import json
import re
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
    assert "${" not in text.replace("${aws:username}", "") and "arn:aws:s3:::team-a-*" in text
    assert "arn:aws:iam::111122223333:policy/s3-broker-binding-boundary" in text
    boundary = json.loads(broker_command("policy", "boundary", "--account-id", "111122223333").stdout)
    assert {"Version", "Statement"} == set(boundary)


def test_an_account_id_must_be_twelve_digits() -> None:
    for wrong in ("*", "11112222333", "1111-2222-3333", "111122223333*"):
        result = broker_command("policy", "broker", "--account-id", wrong)
        assert result.returncode == 2 and result.stdout == ""
        assert "12 digits" in result.stderr


def test_policy_learns_the_account_from_sts(backend: Backend) -> None:
    boundary = broker_command("policy", "boundary", **aws_env(backend))
    assert boundary.returncode == 0, boundary.stderr
    assert '"123456789012"' in boundary.stdout  # moto's account, from GetCallerIdentity
    wrong = broker_command("policy", "boundary", **{**aws_env(backend), "AWS_SECRET_ACCESS_KEY": "wrong"})
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


# `python -m broker` and the words after it, up to the first that is not a sub-command (an argument
# in capitals, a redirection, a quote): not `python -m broker.local.server`, a module of its own.
NAMED_COMMAND = re.compile(r"python -m broker(?![.\w])((?: [a-z][a-z-]*)*)")


def commands_named_in_sources() -> set[str]:
    named = set()
    for source in (REPO / "broker").rglob("*.py"):
        for match in NAMED_COMMAND.finditer(source.read_text()):
            named.add(match.group(1).strip())
    return named


def test_every_command_a_message_names_exists_and_runs() -> None:
    named = commands_named_in_sources()
    assert {"policy boundary", "check"} <= named  # the refusals' and the preflight's advice
    for command in sorted(named):
        words = command.split()
        helped = broker_command(*words, "--help")
        assert helped.returncode == 0, f"`python -m broker {command}` does not exist: {helped.stderr}"
        if words[:1] == ["policy"]:  # the dry form: the document, with an account id given
            printed = broker_command(*words, "--account-id", "111122223333")
            assert printed.returncode == 0 and json.loads(printed.stdout)["Statement"], printed.stderr


def test_version_is_the_package_version() -> None:
    from broker import __version__

    result = broker_command("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"s3-broker {__version__}"
