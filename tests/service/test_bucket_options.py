"""TLS only, Referer-limited public reads, lifecycle rules, websites and object ownership, over HTTP
as the Cloud Controller drives them, checked against S3 itself and, for what the local backend
cannot enforce (Conditions), as policy documents."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from broker.aws.bucket_config import configuration_calls
from broker.aws.clients import run_concurrently
from broker.local.policy_evaluation import Request, evaluate
from broker.model import s3_configuration
from broker.model.parameters import InstanceConfig
from broker.policy import documents
from testing.harness import BASIC, BASIC_PUBLIC, REGION, Backend, OSBClient, new_id
from testing.policy_lint import serious_findings


def bucket(instance_id: str) -> str:
    return f"cf-s3-{instance_id}"


def policy_of(s3: Any, name: str) -> dict[str, Any] | None:
    try:
        return json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
    except ClientError as error:
        assert error.response["Error"]["Code"] == "NoSuchBucketPolicy"
        return None


def tags(s3: Any, name: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}


def provisioned(osb: OSBClient, plan: str = BASIC, parameters: Any = None) -> str:
    instance = new_id()
    response = osb.provision(instance, plan, parameters)
    assert response.status_code == 201, response.text
    return instance


def shown(osb: OSBClient, instance: str) -> dict[str, Any]:
    response = osb.get_instance(instance)
    assert response.status_code == 200, response.text
    return response.json()["parameters"]


def assert_invalid(response: requests.Response, *words: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "InvalidParameters"
    for word in words:
        assert word in body["description"], body


# --- TLS only --------------------------------------------------------------------------------------


def test_tls_only_is_a_deny_without_tls_that_block_public_access_accepts() -> None:
    document = documents.bucket_policy("cf-s3-x", public=False, tls_only=True)
    assert document is not None
    [deny] = document["Statement"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Resource"] == ["arn:aws:s3:::cf-s3-x", "arn:aws:s3:::cf-s3-x/*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert serious_findings(document, resource_policy=True) == []
    assert documents.bucket_policy("cf-s3-x", public=False, tls_only=False) is None


def test_public_bucket_policy_merges_tls_only_and_public_reads() -> None:
    document = documents.bucket_policy("cf-s3-x", public=True, tls_only=True, partition="aws")
    assert document is not None
    assert [s["Sid"] for s in document["Statement"]] == [documents.TLS_ONLY_SID, documents.PUBLIC_READ_SID]
    assert serious_findings(document, resource_policy=True) == []
    arn = "arn:aws:s3:::cf-s3-x/a.png"
    # As AWS evaluates it for an anonymous reader: over TLS yes, without TLS no.
    assert evaluate(Request("s3:GetObject", arn, context={"aws:SecureTransport": "true"}), resource_policy=document)
    plain = Request("s3:GetObject", arn, context={"aws:SecureTransport": "false"})
    assert not evaluate(plain, resource_policy=document)


def test_broker_on_a_tls_endpoint_puts_the_deny_on_private_and_public_buckets(backend: Backend) -> None:
    """The broker's own configuration calls, against the local S3 over HTTPS.

    The HTTP broker of the other tests talks to the local backend over plain HTTP, where a
    TLS-only policy refuses every request (the local gate judges aws:SecureTransport as AWS
    does), so the broker leaves the statement out there.
    """
    s3 = backend.client("s3", tls=True)
    with ThreadPoolExecutor(4) as pool:
        for public in (False, True):
            name = f"cf-s3-tls-{str(public).lower()}-{new_id()[:8]}"
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
            config = InstanceConfig(public=public)
            run_concurrently(pool, configuration_calls(s3, name, None, config, tls_endpoint=True))
            document = policy_of(s3, name)
            assert document is not None
            assert document["Statement"][0]["Sid"] == documents.TLS_ONLY_SID
            block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
            assert block["BlockPublicPolicy"] is not public and block["BlockPublicAcls"] is True
            # A Deny is never "public": Block Public Access leaves the private bucket's policy be.
            assert s3.get_bucket_policy_status(Bucket=name)["PolicyStatus"]["IsPublic"] is public
            # Back to private: the deny stays, the public statement goes, the blocks go up again.
            run_concurrently(pool, configuration_calls(s3, name, config, InstanceConfig(), tls_endpoint=True))
            document = policy_of(s3, name)
            assert document is not None and [s["Sid"] for s in document["Statement"]] == [documents.TLS_ONLY_SID]
            assert all(s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"].values())


def test_require_tls_defaults_on_and_can_be_turned_off(osb: OSBClient, s3: Any) -> None:
    instance = provisioned(osb)
    assert shown(osb, instance)["require_tls"] is True
    assert tags(s3, bucket(instance))["s3-broker:options"].startswith("tls=on ")
    assert osb.update(instance, parameters={"require_tls": False}).status_code == 200
    assert shown(osb, instance)["require_tls"] is False
    assert osb.provision(instance, BASIC, {"require_tls": False}).status_code == 200
    assert osb.provision(instance, BASIC).status_code == 409


# --- Referer --------------------------------------------------------------------------------------


def test_referers_only_for_public_buckets(osb: OSBClient, s3: Any) -> None:
    instance = new_id()
    response = osb.provision(instance, BASIC, {"public_read_referers": ["https://example.org/*"]})
    assert_invalid(response, "public_read_referers", "only to public buckets")
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=bucket(instance))


def test_public_reads_limited_by_referer_end_to_end(osb: OSBClient, s3: Any) -> None:
    referers = ["https://www.example.org/*", "https://example.org/*"]
    instance = provisioned(osb, BASIC_PUBLIC, {"public_read_referers": referers})
    name = bucket(instance)
    document = policy_of(s3, name)
    assert document is not None
    [public] = [s for s in document["Statement"] if s["Sid"] == documents.PUBLIC_READ_SID]
    assert public["Condition"] == {"StringLike": {"aws:Referer": referers}}
    assert serious_findings(document, resource_policy=True) == []
    assert shown(osb, instance)["public_read_referers"] == referers
    assert osb.provision(instance, BASIC_PUBLIC, {"public_read_referers": referers}).status_code == 200
    assert osb.provision(instance, BASIC_PUBLIC, {"public_read_referers": referers[:1]}).status_code == 409

    # The local backend's gate evaluates the condition as S3 does for an anonymous GET.
    s3.put_object(Bucket=name, Key="cat.png", Body=b"png")
    url = f"{osb_endpoint(s3)}/{name}/cat.png"
    assert requests.get(url, headers={"Referer": "https://www.example.org/page"}, timeout=10).content == b"png"
    assert requests.get(url, headers={"Referer": "https://evil.example/page"}, timeout=10).status_code == 403
    assert requests.get(url, timeout=10).status_code == 403

    assert osb.update(instance, parameters={"public_read_referers": []}).status_code == 200
    assert "public_read_referers" not in shown(osb, instance)
    assert requests.get(url, timeout=10).status_code == 200


def osb_endpoint(s3: Any) -> str:
    return str(s3.meta.endpoint_url).rstrip("/")


def test_making_a_public_bucket_with_a_website_private_says_what_to_remove(osb: OSBClient) -> None:
    instance = provisioned(osb, BASIC_PUBLIC, {"website": {"index_document": "index.html"}})
    response = osb.update(instance, BASIC)
    assert_invalid(response, "'website'", "website: {}")
    assert osb.update(instance, BASIC, {"website": {}}).status_code == 200


# --- lifecycle ------------------------------------------------------------------------------------


def test_lifecycle_rules_are_set_shown_changed_and_removed(osb: OSBClient, s3: Any) -> None:
    lifecycle = {
        "expire_after_days": 30,
        "expire_prefix": "tmp/",
        "noncurrent_versions_expire_after_days": 7,
        "abort_incomplete_multipart_uploads_after_days": 2,
    }
    instance = provisioned(osb, BASIC, {"versioning": True, "lifecycle": lifecycle})
    name = bucket(instance)
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]}
    assert rules[s3_configuration.EXPIRE_RULE]["Expiration"] == {"Days": 30}
    assert rules[s3_configuration.EXPIRE_RULE]["Filter"] == {"Prefix": "tmp/"}
    assert rules[s3_configuration.NONCURRENT_RULE]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 7
    assert rules[s3_configuration.MULTIPART_RULE]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 2}
    assert shown(osb, instance)["lifecycle"] == lifecycle
    assert osb.provision(instance, BASIC, {"versioning": True, "lifecycle": lifecycle}).status_code == 200

    assert osb.update(instance, parameters={"lifecycle": {"expire_after_days": 1}}).status_code == 200
    assert [r["ID"] for r in s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]] == [
        s3_configuration.EXPIRE_RULE
    ]
    assert shown(osb, instance)["lifecycle"] == {"expire_after_days": 1}
    assert osb.update(instance, parameters={"lifecycle": {}}).status_code == 200
    with pytest.raises(ClientError, match="NoSuchLifecycleConfiguration"):
        s3.get_bucket_lifecycle_configuration(Bucket=name)
    assert "lifecycle" not in shown(osb, instance)


@pytest.mark.parametrize(
    ("lifecycle", "words"),
    [
        ({"expire_after_days": 0}, ["lifecycle.expire_after_days", "minimum"]),
        ({"noncurrent_versions_expire_after_days": 36501}, ["maximum"]),
        ({"abort_incomplete_multipart_uploads_after_days": 1.5}, ["must be"]),
        ({"expire_prefix": "logs/"}, ["needs 'lifecycle.expire_after_days'"]),
        ({"expire_after_days": 1, "expire_prefix": "../x"}, ["expire_prefix"]),
        ({"transition": 1}, ["transition"]),
    ],
)
def test_lifecycle_ranges_are_checked(osb: OSBClient, lifecycle: dict[str, Any], words: list[str]) -> None:
    assert_invalid(osb.provision(new_id(), BASIC, {"lifecycle": lifecycle}), *words)


# --- website --------------------------------------------------------------------------------------


def test_website_of_a_public_bucket(osb: OSBClient, s3: Any) -> None:
    website = {"index_document": "index.html", "error_document": "404.html"}
    instance = provisioned(osb, BASIC_PUBLIC, {"website": website})
    name = bucket(instance)
    configuration = s3.get_bucket_website(Bucket=name)
    assert configuration["IndexDocument"] == {"Suffix": "index.html"}
    assert configuration["ErrorDocument"] == {"Key": "404.html"}
    parameters = shown(osb, instance)
    assert parameters["website"] == website
    # The local backend serves no websites, so it names no website endpoint (AWS's is tested below).
    assert "website_endpoint" not in parameters
    assert osb.update(instance, parameters={"website": {}}).status_code == 200
    with pytest.raises(ClientError, match="NoSuchWebsiteConfiguration"):
        s3.get_bucket_website(Bucket=name)


def test_website_needs_a_public_bucket_and_an_index(osb: OSBClient) -> None:
    website = {"index_document": "index.html"}
    assert_invalid(osb.provision(new_id(), BASIC, {"website": website}), "'website'", "only to public buckets")
    assert_invalid(osb.provision(new_id(), BASIC_PUBLIC, {"website": {"error_document": "e.html"}}), "index_document")
    assert_invalid(osb.provision(new_id(), BASIC_PUBLIC, {"website": {"index_document": "a/index.html"}}))


@pytest.mark.parametrize(
    ("region", "endpoint"),
    [
        ("us-east-1", "http://b.s3-website-us-east-1.amazonaws.com"),
        ("eu-west-1", "http://b.s3-website-eu-west-1.amazonaws.com"),
        ("eu-west-2", "http://b.s3-website.eu-west-2.amazonaws.com"),
        ("us-east-2", "http://b.s3-website.us-east-2.amazonaws.com"),
        ("cn-north-1", "http://b.s3-website.cn-north-1.amazonaws.com.cn"),
    ],
)
def test_website_endpoint_has_the_form_aws_documents_for_the_region(region: str, endpoint: str) -> None:
    assert s3_configuration.website_endpoint("b", region) == endpoint
    assert s3_configuration.website_url("b", region, None) == endpoint
    assert s3_configuration.website_url("b", region, "http://127.0.0.1:9000") is None


# --- object ownership -----------------------------------------------------------------------------


def test_object_ownership_is_set_at_creation_and_changed_by_update(osb: OSBClient, s3: Any) -> None:
    instance = provisioned(osb, BASIC, {"object_ownership": "BucketOwnerPreferred"})
    name = bucket(instance)

    def ownership() -> str:
        return s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"][0]["ObjectOwnership"]

    assert ownership() == "BucketOwnerPreferred"
    assert shown(osb, instance)["object_ownership"] == "BucketOwnerPreferred"
    # ACLs are enabled, yet Block Public Access keeps them from making anything public.
    block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert block["BlockPublicAcls"] is True and block["IgnorePublicAcls"] is True
    s3.put_object(Bucket=name, Key="shared.txt", Body=b"x", ACL="bucket-owner-full-control")

    assert osb.update(instance, parameters={"object_ownership": "ObjectWriter"}).status_code == 200
    assert ownership() == "ObjectWriter"
    assert osb.update(instance, parameters={"object_ownership": "BucketOwnerEnforced"}).status_code == 200
    assert ownership() == "BucketOwnerEnforced"
    assert_invalid(osb.update(instance, parameters={"object_ownership": "Anyone"}), "object_ownership")


def test_the_local_gate_judges_an_anonymous_readers_conditions_as_aws_does() -> None:
    arn = "arn:aws:s3:::b/a"
    allow = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    inside = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}

    def anyone_may(statements: list[dict[str, Any]], **context: str) -> bool:
        keys = {f"aws:{name}": value for name, value in context.items()}
        return bool(evaluate(Request("s3:GetObject", arn, context=keys), resource_policy={"Statement": statements}))

    assert anyone_may([{**allow, "Condition": inside}], SourceIp="10.1.2.3")
    assert not anyone_may([{**allow, "Condition": inside}], SourceIp="192.0.2.1")
    deny = {**allow, "Effect": "Deny", "Condition": inside}
    assert not anyone_may([allow, deny], SourceIp="10.1.2.3")
    assert anyone_may([allow, deny], SourceIp="192.0.2.1")
    referer = {**allow, "Condition": {"StringLike": {"aws:Referer": "https://a.example/*"}}}
    assert anyone_may([referer], Referer="https://a.example/x")
    assert not anyone_may([referer])
