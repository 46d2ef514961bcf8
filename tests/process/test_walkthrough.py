"""The README's walk-through works after `make run` alone: its commands, run as written, against `python -m broker`."""

from __future__ import annotations

import re
import sys
from typing import Any

import boto3
from botocore.config import Config

from testing.docs import run_sh, sh_blocks
from testing.harness import REGION, REPO, OSBClient, free_port, new_id
from testing.processes import clean_env, osb, running

INSTANCE = "11111111-2222-3333-4444-555555555555"


def test_the_readme_walk_through_runs_as_written() -> None:
    (script,) = sh_blocks(REPO / "README.md", "A walk-through with curl and the AWS CLI")
    assert "8080" not in script and "5000" not in script  # ports come from make run and the credentials
    port, aws_port = free_port(), free_port()
    env = clean_env(PORT=str(port), LOCAL_AWS_PORT=str(aws_port))
    with running([sys.executable, "-m", "broker"], env, port) as process:
        assert process.stdout is not None
        banner = ""
        while "export B=" not in banner:
            banner += process.stdout.readline()
        exported = re.search(r"export B=(\S+)", banner).group(1)  # type: ignore[union-attr]
        password = re.search(r"password (\S+)", banner).group(1)  # type: ignore[union-attr]

        result = run_sh(script, clean_env(B=exported))
        assert result.returncode == 0, result.stdout + result.stderr
        out = result.stdout
        assert '"versioning":true' in out.replace(" ", "")  # the instance's parameters
        assert "upload:" in out and "hello.txt" in out  # cp and ls with the key
        after_refusal = out[out.index("BucketNotEmpty") :]
        assert after_refusal.count('"VersionId"') == 2  # the version and the delete marker, deleted
        assert out.rstrip().endswith("{}")  # the last delete-service went through
        assert osb(port, ("broker", password), "GET", f"/v2/service_instances/{INSTANCE}").status_code == 404
    assert "key.json" not in {path.name for path in REPO.iterdir()}  # the secret stayed out of the repository


def test_the_deletion_guard_advice_empties_a_versioned_bucket(osb: OSBClient) -> None:
    """The command the 422 gives, run as given (the endpoint from the environment, as on AWS)."""
    instance_id = new_id()
    assert osb.provision(instance_id, parameters={"versioning": True}).status_code == 201
    credentials = osb.bind(instance_id, new_id()).json()["credentials"]
    key: Any = boto3.client(
        "s3",
        endpoint_url=credentials["endpoint"],
        region_name=REGION,
        aws_access_key_id=credentials["access_key_id"],
        aws_secret_access_key=credentials["secret_access_key"],
        config=Config(s3={"addressing_style": "path"}),
    )
    bucket = credentials["bucket"]
    for body in (b"one", b"two"):
        key.put_object(Bucket=bucket, Key="file with spaces.txt", Body=body)
    key.put_object(Bucket=bucket, Key="dir/other.txt", Body=b"x")
    key.delete_object(Bucket=bucket, Key="dir/other.txt")  # a delete marker over a version

    refused = osb.deprovision(instance_id)
    assert refused.status_code == 422 and refused.json()["error"] == "BucketNotEmpty"
    commands = re.findall(r"`([^`]+)`", refused.json()["description"])
    assert "delete_objects_with_service" in commands[-1]
    env = clean_env(
        AWS_ACCESS_KEY_ID=credentials["access_key_id"],
        AWS_SECRET_ACCESS_KEY=credentials["secret_access_key"],
        AWS_DEFAULT_REGION=credentials["region"],
        AWS_ENDPOINT_URL=credentials["endpoint"],
    )
    emptied = run_sh(commands[0], env)
    assert emptied.returncode == 0, emptied.stderr
    assert key.list_object_versions(Bucket=bucket).get("Versions") is None
    assert osb.deprovision(instance_id).status_code == 200


def test_no_documented_pipe_ends_in_a_reader_that_stops_early() -> None:
    """The docs run under `pipefail`: a reader that quits before the writer is done (head, sed q)
    makes the writer fail with SIGPIPE or curl's exit 23 once its output outgrows one pipe buffer.
    The walk-through's catalog did, once the catalog grew: every pipe must read to the end."""
    early = re.compile(r"\|\s*(head\b|sed\s+(-n\s+)?['\"]?\d*q|grep\s+(-\S*\s+)*-m\b|awk\s+['\"][^'\"]*exit)")
    for document in (REPO / "README.md", *(REPO / "docs").glob("*.md")):
        for block in re.findall(r"^```sh\n(.*?)^```", document.read_text(), re.MULTILINE | re.DOTALL):
            for line in block.splitlines():
                assert not early.search(line), f"{document.name}: {line}"
