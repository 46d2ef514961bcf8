"""The local backend serves public objects to anyone and presigned URLs, as AWS does, and refuses the rest.

Plain `requests` calls with no AWS signature, against the same local AWS `make run` serves.
"""

from __future__ import annotations

import datetime
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from broker.local.gate import Refusal, check_not_expired
from broker.local.policy_evaluation import Request, evaluate
from broker.local.s3_operations import s3_checks
from testing.harness import BASIC_PUBLIC, REGION, Backend, OSBClient, new_id


def key_client(backend: Backend, credentials: dict[str, Any]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=credentials["endpoint"],
        region_name=REGION,
        aws_access_key_id=credentials["access_key_id"],
        aws_secret_access_key=credentials["secret_access_key"],
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )


@pytest.fixture
def bound(osb: OSBClient, request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """A bucket (public when the test is parametrised so) with an object, and a read-write key to it."""
    plan = getattr(request, "param", None)
    instance_id = new_id()
    response = osb.provision(instance_id, plan_id=plan) if plan else osb.provision(instance_id)
    assert response.status_code == 201, response.text
    credentials = osb.bind(instance_id, new_id()).json()["credentials"]
    return instance_id, credentials


@pytest.mark.parametrize("bound", [BASIC_PUBLIC], indirect=True)
def test_anyone_reads_an_object_of_a_public_bucket(backend: Backend, bound: tuple[str, dict[str, Any]]) -> None:
    _, credentials = bound
    bucket = credentials["bucket"]
    key_client(backend, credentials).put_object(Bucket=bucket, Key="site/index.html", Body=b"<h1>hi</h1>")

    url = f"{credentials['endpoint']}/{bucket}/site/index.html"
    got = requests.get(url, timeout=10)
    assert got.status_code == 200, got.text
    assert got.content == b"<h1>hi</h1>"
    assert requests.head(url, timeout=10).status_code == 200
    # Public means reading objects, not listing the bucket or writing to it.
    assert requests.get(f"{credentials['endpoint']}/{bucket}", timeout=10).status_code == 403
    assert requests.put(f"{credentials['endpoint']}/{bucket}/new.txt", data=b"x", timeout=10).status_code == 403
    assert requests.get(f"{credentials['endpoint']}/{bucket}/missing.txt", timeout=10).status_code == 404


def test_anonymous_reads_of_a_private_bucket_are_refused(s3: Any, bound: tuple[str, dict[str, Any]]) -> None:
    _, credentials = bound
    bucket = credentials["bucket"]
    s3.put_object(Bucket=bucket, Key="secret.txt", Body=b"private")

    url = f"{credentials['endpoint']}/{bucket}/secret.txt"
    got = requests.get(url, timeout=10)
    assert got.status_code == 403
    assert "<Code>AccessDenied</Code>" in got.text
    assert b"private" not in got.content
    assert requests.head(url, timeout=10).status_code == 403


def test_presigned_urls_of_a_binding_key_work_and_tampered_ones_fail(
    backend: Backend, s3: Any, bound: tuple[str, dict[str, Any]]
) -> None:
    _, credentials = bound
    bucket = credentials["bucket"]
    client = key_client(backend, credentials)
    client.put_object(Bucket=bucket, Key="report.pdf", Body=b"%PDF")

    url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "report.pdf"}, ExpiresIn=600)
    got = requests.get(url, timeout=10)
    assert got.status_code == 200, got.text
    assert got.content == b"%PDF"

    signature = url.rsplit("X-Amz-Signature=", 1)[1]
    tampered_signature = url.replace(signature, ("0" if signature[0] != "0" else "1") + signature[1:])
    refused = requests.get(tampered_signature, timeout=10)
    assert refused.status_code == 403
    assert "SignatureDoesNotMatch" in refused.text
    other_object = url.replace("/report.pdf?", "/other.pdf?")
    assert requests.get(other_object, timeout=10).status_code == 403

    upload = client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up.txt"}, ExpiresIn=600)
    assert requests.put(upload, data=b"uploaded", timeout=10).status_code == 200
    assert s3.get_object(Bucket=bucket, Key="up.txt")["Body"].read() == b"uploaded"


def test_a_presigned_url_grants_no_more_than_its_key(
    backend: Backend, osb: OSBClient, bound: tuple[str, dict[str, Any]]
) -> None:
    instance_id, credentials = bound
    other_instance = new_id()
    assert osb.provision(other_instance).status_code == 201
    other_bucket = f"cf-s3-{other_instance}"
    client = key_client(backend, credentials)
    url = client.generate_presigned_url("get_object", Params={"Bucket": other_bucket, "Key": "x"}, ExpiresIn=600)
    refused = requests.get(url, timeout=10)
    assert refused.status_code == 403
    assert "AccessDenied" in refused.text

    # A read-only key's presigned upload is refused by its own policy.
    read_only = osb.bind(instance_id, new_id(), {"permissions": "read-only"}).json()["credentials"]
    upload = key_client(backend, read_only).generate_presigned_url(
        "put_object", Params={"Bucket": credentials["bucket"], "Key": "ro.txt"}, ExpiresIn=600
    )
    assert requests.put(upload, data=b"x", timeout=10).status_code == 403


def test_a_presigned_url_dies_with_its_binding(
    backend: Backend, osb: OSBClient, bound: tuple[str, dict[str, Any]]
) -> None:
    instance_id, credentials = bound
    binding_id = new_id()
    other = osb.bind(instance_id, binding_id).json()["credentials"]
    url = key_client(backend, other).generate_presigned_url(
        "get_object", Params={"Bucket": credentials["bucket"], "Key": "x"}, ExpiresIn=600
    )
    assert osb.unbind(instance_id, binding_id).status_code == 200
    refused = requests.get(url, timeout=10)
    assert refused.status_code == 403
    assert "InvalidAccessKeyId" in refused.text


def test_expiry_is_checked_against_the_signing_time() -> None:
    signed = {"X-Amz-Date": "20260101T000000Z", "X-Amz-Expires": "60"}
    check_not_expired(signed, datetime.datetime(2026, 1, 1, 0, 1, tzinfo=datetime.UTC))
    with pytest.raises(Refusal, match="expired"):
        check_not_expired(signed, datetime.datetime(2026, 1, 1, 0, 1, 1, tzinfo=datetime.UTC))
    with pytest.raises(Refusal):
        check_not_expired({**signed, "X-Amz-Expires": "604801"}, datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))


PUBLIC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]}],
}


@pytest.mark.parametrize(
    ("policy", "restricted", "action", "arn", "allowed"),
    [
        (PUBLIC, False, "s3:GetObject", "arn:aws:s3:::b/a/b.txt", True),
        (PUBLIC, True, "s3:GetObject", "arn:aws:s3:::b/a.txt", False),  # Block Public Access restricts it
        (PUBLIC, False, "s3:GetObjectVersion", "arn:aws:s3:::b/a.txt", False),
        (PUBLIC, False, "s3:GetObject", "arn:aws:s3:::bb/a.txt", False),
        (None, False, "s3:GetObject", "arn:aws:s3:::b/a.txt", False),
        (
            {"Statement": {"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "s3:Get*", "Resource": "*"}},
            False,
            "s3:GetObjectVersion",
            "arn:aws:s3:::b/a.txt",
            True,
        ),
        (  # a grant to one account is not public
            {
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "*", "Resource": "*"}
                ]
            },
            False,
            "s3:GetObject",
            "arn:aws:s3:::b/a.txt",
            False,
        ),
        (
            {"Statement": [*PUBLIC["Statement"], {**PUBLIC["Statement"][0], "Effect": "Deny"}]},
            False,
            "s3:GetObject",
            "arn:aws:s3:::b/a.txt",
            False,
        ),
    ],
)
def test_what_counts_as_public(policy: Any, restricted: bool, action: str, arn: str, allowed: bool) -> None:
    """What the gate asks the evaluator for an anonymous request."""
    assert bool(evaluate(Request(action, arn), resource_policy=policy, restrict_public_buckets=restricted)) is allowed


def test_reading_a_version_is_its_own_action() -> None:
    assert [c.action for c in s3_checks("GET", "/b/k", {}, {})] == ["s3:GetObject"]
    assert [c.action for c in s3_checks("HEAD", "/b/k", {"versionId": "v1"}, {})] == ["s3:GetObjectVersion"]


def test_a_long_referer_against_many_wildcards_is_judged_at_once() -> None:
    """Issue 18 item 14: the Referer matcher backtracked (6.7 s for 32 characters against 30 wildcards);
    with 300 wildcards and 2,000 characters an exponential matcher would never return."""
    pattern, referer = "*a" * 300 + "b", "a" * 2000
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*",
                "Condition": {"StringLike": {"aws:Referer": [pattern]}},
            }
        ],
    }
    slow = Request("s3:GetObject", "arn:aws:s3:::b/k", context={"aws:Referer": referer})
    assert not evaluate(slow, resource_policy=policy)
    fine = Request("s3:GetObject", "arn:aws:s3:::b/k", context={"aws:Referer": "a" * 300 + "b"})
    assert evaluate(fine, resource_policy=policy)
