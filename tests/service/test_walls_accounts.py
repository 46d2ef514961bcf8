"""external_buckets across two AWS accounts, run: the local backend serves the platform's account and
another one (EXTERNAL_ACCOUNT, with its own administrator), and the gate judges requests between
them as AWS does: across accounts, the key's own policy and the bucket's policy must both allow.

The other account's owner applies the bucket policy the bind hands out, and the key reads and writes
as allowed; without it the key is refused. A bucket that trusts the platform's whole account or its
AWS Organization instead is reached only by tenants of the orgs the operator opened that account to:
every other key's policy limits its external statements to other accounts (s3:ResourceAccount).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from broker.local.gate import LOCAL_ORGANIZATION
from testing.clients import bind, refused
from testing.harness import EXTERNAL_ACCOUNT, ORG, REGION, SPACE, Backend, BrokerServer, Identity, OSBClient, new_id

PLATFORM_ACCOUNT = "123456789012"  # moto's account, the platform's
THIRD_ACCOUNT = "210987654321"  # an account the operator allows for every org (no bucket of it is used)
ALLOWED_ORG = "5d1c7f0e-2a3b-4c4d-8e5f-6a7b8c9d0e1f"  # the only org the operator opened EXTERNAL_ACCOUNT to


def key(credentials: dict[str, Any]) -> Identity:
    return Identity(credentials["access_key_id"], credentials["secret_access_key"])


@pytest.fixture
def owner(backend: Backend) -> Any:
    """S3 as the other account's administrator."""
    return backend.client("s3", backend.other_owner)


def other_accounts_bucket(owner: Any, policy: dict[str, Any] | None = None) -> str:
    """A bucket of the other account with one object, and `policy` (a function of its name) if given."""
    name = f"legacy-{new_id()[:13]}"
    owner.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    owner.put_object(Bucket=name, Key="logo.png", Body=b"old logo")
    if policy is not None:
        owner.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    return name


def instance_in(osb: OSBClient, org: str = ORG) -> str:
    instance_id = new_id()
    context = {"platform": "cloudfoundry", "organization_guid": org, "space_guid": SPACE}
    response = osb.provision(instance_id, organization_guid=org, context=context)
    assert response.status_code == 201, response.text
    return instance_id


def bind_in(osb: OSBClient, instance_id: str, parameters: dict[str, Any], org: str = ORG) -> dict[str, Any]:
    context = {"platform": "cloudfoundry", "organization_guid": org, "space_guid": SPACE}
    return bind(osb, instance_id, parameters, context=context)


def test_the_owner_applies_the_generated_policy_and_the_key_reads_and_writes(
    backend: Backend, osb: OSBClient, owner: Any
) -> None:
    legacy = other_accounts_bucket(owner)
    credentials = bind_in(osb, instance_in(osb), {"external_buckets": [legacy]})
    s3 = backend.client("s3", key(credentials))
    # The key's own policy allows the bucket, the bucket's does not (yet): across accounts both must.
    assert refused(s3.get_object, Bucket=legacy, Key="logo.png") == "AccessDenied"
    assert refused(s3.put_object, Bucket=legacy, Key="new.txt", Body=b"x") == "AccessDenied"
    assert refused(s3.list_objects_v2, Bucket=legacy) == "AccessDenied"

    policy = credentials["external_bucket_policies"][legacy]
    assert {s["Principal"]["AWS"] for s in policy["Statement"]} == {credentials["iam_user_arn"]}
    owner.put_bucket_policy(Bucket=legacy, Policy=json.dumps(policy))
    assert s3.get_object(Bucket=legacy, Key="logo.png")["Body"].read() == b"old logo"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=legacy)["Contents"]] == ["logo.png"]
    s3.put_object(Bucket=legacy, Key="from-the-platform.txt", Body=b"hello")
    assert owner.get_object(Bucket=legacy, Key="from-the-platform.txt")["Body"].read() == b"hello"
    # The owner's grant covers objects, never the bucket's own settings.
    assert refused(s3.put_bucket_policy, Bucket=legacy, Policy=json.dumps(policy)) == "AccessDenied"
    assert refused(s3.delete_bucket, Bucket=legacy) == "AccessDenied"

    # Migration as the users' guide does it: copies both ways, S3 to S3.
    bucket = credentials["bucket"]
    s3.copy_object(Bucket=bucket, Key="logo.png", CopySource={"Bucket": legacy, "Key": "logo.png"})
    assert s3.get_object(Bucket=bucket, Key="logo.png")["Body"].read() == b"old logo"
    s3.put_object(Bucket=bucket, Key="made-here.txt", Body=b"new")
    s3.copy_object(Bucket=legacy, Key="made-here.txt", CopySource={"Bucket": bucket, "Key": "made-here.txt"})
    assert owner.get_object(Bucket=legacy, Key="made-here.txt")["Body"].read() == b"new"
    # The other account's owner gets nothing of the platform's bucket in return.
    assert refused(owner.get_object, Bucket=bucket, Key="logo.png") == "AccessDenied"


def test_a_read_only_key_reads_the_other_accounts_bucket_and_writes_nothing(
    backend: Backend, osb: OSBClient, owner: Any
) -> None:
    legacy = other_accounts_bucket(owner)
    credentials = bind_in(osb, instance_in(osb), {"external_buckets": [legacy], "permissions": "read-only"})
    owner.put_bucket_policy(Bucket=legacy, Policy=json.dumps(credentials["external_bucket_policies"][legacy]))
    s3 = backend.client("s3", key(credentials))
    assert s3.get_object(Bucket=legacy, Key="logo.png")["Body"].read() == b"old logo"
    assert refused(s3.put_object, Bucket=legacy, Key="x", Body=b"x") == "AccessDenied"
    assert refused(s3.delete_object, Bucket=legacy, Key="logo.png") == "AccessDenied"
    # A policy the owner widens to everything for this user still meets the key's own limits.
    wider = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": credentials["iam_user_arn"]},
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{legacy}", f"arn:aws:s3:::{legacy}/*"],
            }
        ],
    }
    owner.put_bucket_policy(Bucket=legacy, Policy=json.dumps(wider))
    assert refused(s3.put_object, Bucket=legacy, Key="x", Body=b"x") == "AccessDenied"


def trusting_the_platform(bucket: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{PLATFORM_ACCOUNT}:root"},
                "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            }
        ],
    }


def trusting_the_organization(bucket: str) -> dict[str, Any]:
    policy = trusting_the_platform(bucket)
    policy["Statement"][0]["Principal"] = "*"
    policy["Statement"][0]["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": LOCAL_ORGANIZATION}}
    return policy


@pytest.fixture
def org_limited(backend: Backend) -> Iterator[OSBClient]:
    """A broker that opens EXTERNAL_ACCOUNT to ALLOWED_ORG only, and THIRD_ACCOUNT to every org."""
    allowed = ((EXTERNAL_ACCOUNT, ALLOWED_ORG), (THIRD_ACCOUNT, None))
    with BrokerServer(backend.settings(allowed_external_accounts=allowed)) as server:
        yield server.osb()


@pytest.mark.parametrize("trust", [trusting_the_platform, trusting_the_organization])
def test_a_bucket_trusting_the_platform_is_out_of_reach_of_orgs_the_operator_did_not_allow(
    backend: Backend, org_limited: OSBClient, owner: Any, trust: Any
) -> None:
    legacy = other_accounts_bucket(owner)
    owner.put_bucket_policy(Bucket=legacy, Policy=json.dumps(trust(legacy)))
    # The bucket's policy does let the platform's account in: its administrator reads it.
    assert backend.client("s3").get_object(Bucket=legacy, Key="logo.png")["Body"].read() == b"old logo"

    # A tenant of another org gets a key for the accounts open to it (THIRD_ACCOUNT), and naming the
    # bucket does not take it into EXTERNAL_ACCOUNT: its statements hold s3:ResourceAccount to THIRD_ACCOUNT.
    credentials = bind_in(org_limited, instance_in(org_limited), {"external_buckets": [legacy]})
    s3 = backend.client("s3", key(credentials))
    assert refused(s3.get_object, Bucket=legacy, Key="logo.png") == "AccessDenied"
    assert refused(s3.put_object, Bucket=legacy, Key="planted", Body=b"x") == "AccessDenied"
    assert refused(s3.list_objects_v2, Bucket=legacy) == "AccessDenied"
    plain = backend.client("s3", key(bind_in(org_limited, instance_in(org_limited), {})))
    assert refused(plain.get_object, Bucket=legacy, Key="logo.png") == "AccessDenied"

    # A tenant of the org the operator opened EXTERNAL_ACCOUNT to gets in: why operators allow only
    # accounts whose owners grant binding users by their ARN (docs/operators.md).
    instance_id = instance_in(org_limited, ALLOWED_ORG)
    allowed = bind_in(org_limited, instance_id, {"external_buckets": [legacy]}, ALLOWED_ORG)
    assert backend.client("s3", key(allowed)).get_object(Bucket=legacy, Key="logo.png")["Body"].read() == b"old logo"
    assert not owner.list_objects_v2(Bucket=legacy, Prefix="planted").get("Contents")


def test_an_org_the_operator_opened_no_account_to_cannot_name_external_buckets(backend: Backend, owner: Any) -> None:
    legacy = other_accounts_bucket(owner)
    with BrokerServer(backend.settings(allowed_external_accounts=((EXTERNAL_ACCOUNT, ALLOWED_ORG),))) as server:
        osb = server.osb()
        response = osb.bind(instance_in(osb), new_id(), {"external_buckets": [legacy]})
        assert response.status_code == 400
        assert "ALLOWED_EXTERNAL_ACCOUNT_IDS" in response.json()["description"]
