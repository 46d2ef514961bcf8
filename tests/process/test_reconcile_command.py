"""`python -m broker reconcile` against a local backend of its own (so no other test's leftovers count),
run with the broker's own key, which the local gate judges by the real broker policy.

Each case is made as it happens on AWS: a bucket deleted behind the broker's back by an administrator,
a provisioning mark planted two days old, a boundary swapped, and the compromised-key quarantine policy
attached to a binding user. moto ships AWS's managed policies as data but may not load them: the test
then attaches a customer managed policy of the same name, equivalent for the command, which reads names.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from testing.harness import REGION, REPO, Backend, BrokerServer, OSBClient, new_id
from testing.processes import operator_command

DENY_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
QUARANTINE = "AWSCompromisedKeyQuarantineV2"


@pytest.fixture(scope="module")
def own_backend() -> Iterator[Backend]:
    backend = Backend.start()
    yield backend
    backend.moto.stop()


@pytest.fixture(scope="module")
def own_osb(own_backend: Backend) -> Iterator[OSBClient]:
    with BrokerServer(own_backend.settings()) as server:
        yield server.osb()


def reconcile(backend: Backend, *args: str) -> subprocess.CompletedProcess[str]:
    return operator_command(backend, "reconcile", *args)


def bound_instance(osb: OSBClient) -> tuple[str, str]:
    """A fresh instance with one binding: its id and its binding user's name."""
    instance_id, binding_id = new_id(), new_id()
    assert osb.provision(instance_id).status_code == 201
    bound = osb.bind(instance_id, binding_id)
    assert bound.status_code == 201, bound.text
    return instance_id, f"cf-s3-{binding_id}"


def quarantine(iam: Any, user_name: str) -> str:
    """Attach AWS's quarantine policy, or (moto without AWS's managed policies) one named like it."""
    try:
        arn = iam.get_policy(PolicyArn=f"arn:aws:iam::aws:policy/{QUARANTINE}")["Policy"]["Arn"]
    except ClientError:
        arn = iam.create_policy(PolicyName=QUARANTINE, PolicyDocument=json.dumps(DENY_ALL))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=user_name, PolicyArn=arn)
    return arn


def plant_half_made(s3: Any, started: float, *, with_object: bool = False) -> str:
    bucket = f"cf-s3-{new_id()}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    tags = [{"Key": "s3-broker:provisioning", "Value": f"d1g35t {int(started)}"}]
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})
    if with_object:
        s3.put_object(Bucket=bucket, Key="data", Body=b"a tenant's")
    return bucket


def shape(line: str) -> str:
    """A line of output with its ids, numbers and column padding blurred, to compare with the docs' sample."""
    return " ".join(re.sub(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}|[0-9]+", "N", line).split())


def documented_sample() -> list[str]:
    """The output docs/operators.md shows for `python -m broker reconcile`."""
    text = (REPO / "docs" / "operators.md").read_text()
    block = re.search(r"^```text\n\$ python -m broker reconcile\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert block, "docs/operators.md shows no sample of the command's output"
    return block.group(1).splitlines()


def user_exists(iam: Any, user_name: str) -> bool:
    try:
        iam.get_user(UserName=user_name)
    except ClientError as error:
        assert error.response["Error"]["Code"] == "NoSuchEntity"
        return False
    return True


def bucket_exists(s3: Any, bucket: str) -> bool:
    return any(b["Name"] == bucket for b in s3.list_buckets()["Buckets"])


def test_reconcile_finds_what_needs_a_person_and_fix_removes_only_leftovers(
    own_backend: Backend, own_osb: OSBClient
) -> None:
    s3, iam = own_backend.client("s3"), own_backend.client("iam")
    healthy_instance, healthy_user = bound_instance(own_osb)
    gone_instance, gone_user = bound_instance(own_osb)
    s3.delete_bucket(Bucket=f"cf-s3-{gone_instance}")  # behind the broker's back
    leaked_instance, leaked_user = bound_instance(own_osb)
    quarantine_arn = quarantine(iam, leaked_user)
    s3.delete_bucket(Bucket=f"cf-s3-{leaked_instance}")  # gone too: still never removed while quarantined
    _, odd_user = bound_instance(own_osb)
    other = iam.create_policy(PolicyName="someone-elses-boundary", PolicyDocument=json.dumps(DENY_ALL))["Policy"]
    iam.put_user_permissions_boundary(UserName=odd_user, PermissionsBoundary=other["Arn"])
    two_days_ago = time.time() - 2 * 24 * 3600
    empty_half_made = plant_half_made(s3, two_days_ago)
    full_half_made = plant_half_made(s3, two_days_ago, with_object=True)
    fresh_half_made = plant_half_made(s3, time.time())  # a provision may still be running

    listed = reconcile(own_backend)
    assert listed.returncode == 1, listed.stdout + listed.stderr
    assert "WHAT" in listed.stdout and "python -m broker reconcile --fix" in listed.stdout
    printed = {shape(line) for line in listed.stdout.splitlines()}
    assert all(shape(line) in printed for line in documented_sample())  # the docs show what it prints
    found = json.loads(reconcile(own_backend, "--json").stdout)
    kinds = {(f["kind"], f["subject"]) for f in found["findings"]}
    assert kinds == {
        ("bucket-gone", gone_user),
        ("quarantined", leaked_user),
        ("bucket-gone", leaked_user),
        ("boundary-differs", odd_user),
        ("half-made", empty_half_made),
        ("half-made", full_half_made),
    }
    assert found["checked"] == {"binding_users": 4, "buckets": 5} and found["needs_a_person"] == 6
    assert user_exists(iam, gone_user) and bucket_exists(s3, empty_half_made)  # listing changes nothing

    fixed = reconcile(own_backend, "--fix")
    assert fixed.returncode == 1, fixed.stdout + fixed.stderr
    assert f"bucket-gone {gone_user}: removed, with its keys and policies" in fixed.stdout
    assert f"half-made {empty_half_made}: removed (it was empty)" in fixed.stdout
    assert f"half-made {full_half_made}: kept: it holds objects" in fixed.stdout
    assert not user_exists(iam, gone_user) and not bucket_exists(s3, empty_half_made)
    assert user_exists(iam, leaked_user) and user_exists(iam, healthy_user) and user_exists(iam, odd_user)
    assert bucket_exists(s3, full_half_made) and bucket_exists(s3, fresh_half_made)
    assert s3.get_object(Bucket=full_half_made, Key="data")["Body"].read() == b"a tenant's"
    assert bucket_exists(s3, f"cf-s3-{healthy_instance}")

    # A person sees to the rest; then a --fix removes the quarantined user's leftovers, and nothing is left.
    iam.detach_user_policy(UserName=leaked_user, PolicyArn=quarantine_arn)
    iam.put_user_permissions_boundary(UserName=odd_user, PermissionsBoundary=own_backend.permissions_boundary_arn)
    s3.delete_object(Bucket=full_half_made, Key="data")
    s3.delete_bucket(Bucket=full_half_made)
    last = reconcile(own_backend, "--fix")
    assert last.returncode == 0, last.stdout + last.stderr
    assert f"bucket-gone {leaked_user}: removed" in last.stdout and not user_exists(iam, leaked_user)
    clean = reconcile(own_backend)
    assert clean.returncode == 0 and "Nothing needs a person (2 binding users and 3 buckets checked)." in clean.stdout
