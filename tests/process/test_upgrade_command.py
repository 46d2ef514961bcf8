"""`python -m broker upgrade` against the local backend: what is behind, by org, and --all upgrading
it one instance after another, with its keys intact; a second run finds nothing left."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from typing import Any

from broker import __version__
from testing.clients import s3_with
from testing.harness import ORG, SPACE, Backend, BrokerServer, OSBClient, new_id
from testing.processes import operator_command


def upgrade_command(backend: Backend, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return operator_command(backend, "upgrade", *args, **extra)


def tags_of(s3: Any, instance_id: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=f"cf-s3-{instance_id}")["TagSet"]}


def tags_of_bucket(s3: Any, bucket: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}


def make_behind(s3: Any, instance_id: str) -> None:
    bucket = f"cf-s3-{instance_id}"
    kept = [t for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"] if t["Key"] != "s3-broker:version"]
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": kept})


def test_upgrade_lists_what_is_behind_then_all_upgrades_it(backend: Backend, osb: OSBClient, s3: Any) -> None:
    context = {"platform": "cloudfoundry", "organization_guid": ORG, "space_guid": SPACE}
    behind = []
    for _ in range(2):
        instance_id = new_id()
        named = {**context, "organization_name": "acme", "instance_name": "photos"}
        assert osb.provision(instance_id, context=named).status_code == 201
        behind.append(instance_id)
    binding = osb.bind(behind[0], new_id())
    assert binding.status_code == 201, binding.text
    credentials = binding.json()["credentials"]
    for instance_id in behind:
        make_behind(s3, instance_id)

    listed = upgrade_command(backend)
    assert listed.returncode == 0, listed.stderr
    # Other tests' instances may be behind too: at least ours are counted, by org name and GUID.
    assert f"instances are behind {__version__}." in listed.stdout
    assert f"acme ({ORG}):" in listed.stdout and "from (before versions):" in listed.stdout
    assert "python -m broker upgrade --all" in listed.stdout
    assert all("s3-broker:version" not in tags_of(s3, i) for i in behind)  # listing changes nothing

    upgraded = upgrade_command(backend, "--all", "--pause", "0")
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    for instance_id in behind:
        assert f"{instance_id}: upgraded" in upgraded.stdout
        assert tags_of(s3, instance_id)["s3-broker:version"] == __version__
    assert f"instances are at {__version__}." in upgraded.stdout
    # The key the app holds still works.
    app_s3 = s3_with(credentials)
    app_s3.put_object(Bucket=credentials["bucket_name"], Key="after-upgrade", Body=b"ok")

    again = upgrade_command(backend)
    assert again.returncode == 0 and f"Every instance is at {__version__}." in again.stdout


def test_upgrade_all_finds_account_regional_buckets(backend: Backend, s3: Any) -> None:
    """The command asks STS for the account id, as the broker does: account-regional names hold it.
    A prefix of its own (within the broker policy's cf-s3-*): the other tests' buckets are global."""
    settings = backend.settings(bucket_namespace="account-regional", bucket_prefix="cf-s3-ar-")
    with BrokerServer(settings) as server:
        instance_id = new_id()
        assert server.osb().provision(instance_id).status_code == 201
        account = backend.client("sts").get_caller_identity()["Account"]
        bucket = replace(settings, account_id=account).bucket_name(instance_id)
        kept = [t for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"] if t["Key"] != "s3-broker:version"]
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": kept})
        upgraded = upgrade_command(
            backend, "--all", "--pause", "0", BUCKET_NAMESPACE="account-regional", BUCKET_PREFIX="cf-s3-ar-"
        )
        assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
        assert f"{instance_id}: upgraded" in upgraded.stdout
        assert tags_of_bucket(s3, bucket)["s3-broker:version"] == __version__
        assert server.osb().deprovision(instance_id).status_code == 200
