"""The walls the gate itself keeps: boundaries, the broker's own IAM conditions, TLS-only buckets,
its admin API, and refusing loudly what it cannot judge. Run against the tests' local AWS."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from broker.local import backend as local
from broker.policy import documents
from testing.clients import refused
from testing.harness import REGION, Backend, base_settings, make_user, new_id

ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def bucket_with_object(s3: Any) -> str:
    name = f"cf-s3-walls-{new_id()[:8]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=name, Key="k", Body=b"hello")
    return name


def test_the_broker_key_cannot_create_a_user_without_the_boundary(backend: Backend) -> None:
    iam = backend.client("iam", backend.broker)
    path, name = f"{base_settings().iam_user_path}i-{new_id()[:8]}/", f"cf-s3-{new_id()}"
    assert refused(iam.create_user, UserName=name, Path=path) == "AccessDenied"
    other = f"arn:aws:iam::{backend.permissions_boundary_arn.split(':')[4]}:policy/something-wider"
    assert refused(iam.create_user, UserName=name, Path=path, PermissionsBoundary=other) == "AccessDenied"
    # Nor outside its path, even with the boundary.
    outside = {"UserName": name, "Path": "/", "PermissionsBoundary": backend.permissions_boundary_arn}
    assert refused(iam.create_user, **outside) == "AccessDenied"
    iam.create_user(UserName=name, Path=path, PermissionsBoundary=backend.permissions_boundary_arn)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(ALLOW_ALL))
    iam.delete_user_policy(UserName=name, PolicyName="p")
    iam.delete_user(UserName=name)


def test_the_broker_key_cannot_give_a_policy_to_a_user_without_the_boundary(backend: Backend, iam: Any) -> None:
    path, name = f"{base_settings().iam_user_path}i-{new_id()[:8]}/", f"cf-s3-{new_id()}"
    iam.create_user(UserName=name, Path=path)  # the admin makes it, without the boundary
    broker = backend.client("iam", backend.broker)
    put = {"UserName": name, "PolicyName": "p", "PolicyDocument": json.dumps(ALLOW_ALL)}
    assert refused(broker.put_user_policy, **put) == "AccessDenied"
    iam.delete_user(UserName=name)


def test_the_boundary_refuses_what_a_user_policy_would_allow_beyond_it(backend: Backend, iam: Any, s3: Any) -> None:
    bucket = bucket_with_object(s3)
    path, name = f"{base_settings().iam_user_path}i-{new_id()[:8]}/", f"cf-s3-{new_id()}"
    broker = backend.client("iam", backend.broker)
    broker.create_user(UserName=name, Path=path, PermissionsBoundary=backend.permissions_boundary_arn)
    broker.put_user_policy(UserName=name, PolicyName="everything", PolicyDocument=json.dumps(ALLOW_ALL))
    made = broker.create_access_key(UserName=name)["AccessKey"]
    key = backend.client("s3", local_identity(made))
    assert key.get_object(Bucket=bucket, Key="k")["Body"].read() == b"hello"  # inside the boundary
    assert refused(key.put_bucket_policy, Bucket=bucket, Policy=json.dumps(ALLOW_ALL)) == "AccessDenied"
    assert refused(key.delete_bucket, Bucket=bucket) == "AccessDenied"
    assert refused(backend.client("iam", local_identity(made)).list_users) == "AccessDenied"
    # Without the boundary the same policy would allow it: the admin's own allow-all does.
    s3.delete_bucket_policy(Bucket=bucket)


def local_identity(key: dict[str, str]) -> Any:
    from testing.harness import Identity

    return Identity(key["AccessKeyId"], key["SecretAccessKey"])


def test_a_tls_only_bucket_refuses_plain_http_and_serves_https(backend: Backend) -> None:
    s3 = backend.client("s3", tls=True)
    bucket = bucket_with_object(s3)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(documents.bucket_policy(bucket, public=False, tls_only=True)))
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"hello"
    plain = backend.client("s3")
    assert refused(plain.get_object, Bucket=bucket, Key="k") == "AccessDenied"
    assert refused(plain.put_object, Bucket=bucket, Key="k2", Body=b"x") == "AccessDenied"
    s3.delete_bucket_policy(Bucket=bucket)
    assert plain.get_object(Bucket=bucket, Key="k")["Body"].read() == b"hello"


def test_a_public_tls_only_bucket_serves_anonymous_reads_over_https_only(backend: Backend) -> None:
    s3 = backend.client("s3", tls=True)
    bucket = bucket_with_object(s3)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=documents.public_access_block(True))
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(documents.bucket_policy(bucket, public=True, tls_only=True)))
    got = requests.get(f"{backend.moto.https_endpoint}/{bucket}/k", verify=backend.moto.ca_bundle, timeout=10)
    assert got.status_code == 200 and got.content == b"hello"
    assert requests.get(f"{backend.moto.endpoint}/{bucket}/k", timeout=10).status_code == 403


@pytest.mark.parametrize("path", ["/moto-api/data.json", "/moto-api/reset-auth", "/_local/clock"])
def test_the_admin_api_needs_the_admin_token(backend: Backend, path: str) -> None:
    for token in ({}, {local.ADMIN_TOKEN_HEADER: "guess"}):
        answer = requests.post(f"{backend.moto.endpoint}{path}", data=b"inf", headers=token, timeout=10)
        assert answer.status_code == 403
    # Still enforcing: an unsigned listing of all buckets is refused.
    assert requests.get(f"{backend.moto.endpoint}/", timeout=10).status_code == 403
    assert local.admin_call(backend.moto.endpoint, "/_local/clock")  # the tests' own way in


def test_a_policy_the_gate_cannot_judge_is_a_loud_500(backend: Backend, s3: Any) -> None:
    bucket = bucket_with_object(s3)
    local.set_enforcement(backend.moto.endpoint, enforce=False)
    try:
        strange = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:NoSuchKey": "x"}},  # moto takes it, AWS would not
                }
            ],
        }
        key = make_user(backend.moto.endpoint, f"strange-{new_id()[:8]}", strange)
    finally:
        local.set_enforcement(backend.moto.endpoint, enforce=True)
    with pytest.raises(ClientError) as caught:
        backend.client("s3", key).get_object(Bucket=bucket, Key="k")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_an_inactive_key_is_refused(backend: Backend, iam: Any, s3: Any) -> None:
    bucket = bucket_with_object(s3)
    name = f"inactive-{new_id()[:8]}"
    local.set_enforcement(backend.moto.endpoint, enforce=False)
    try:
        key = make_user(backend.moto.endpoint, name, ALLOW_ALL)
    finally:
        local.set_enforcement(backend.moto.endpoint, enforce=True)
    client = backend.client("s3", key)
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"hello"
    iam.update_access_key(UserName=name, AccessKeyId=key.access_key_id, Status="Inactive")
    assert refused(client.get_object, Bucket=bucket, Key="k") == "InvalidAccessKeyId"
