"""Keys: rotation without downtime, upload-only keys, keys that expire, VPC endpoints.

Driven over HTTP like the Cloud Controller; credentials used with boto3 and the AWS CLI under IAM
enforcement. moto does not evaluate Conditions (aws:CurrentTime, aws:SourceVpce), so expiry and
VPC endpoints are checked as the policy documents AWS will evaluate.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from broker.model import binding_records
from broker.policy import documents
from broker.settings import SettingsError, from_env
from testing.clients import bind, refused, s3_with, user_exists, user_name
from testing.harness import Backend, BrokerServer, OSBClient, new_id
from testing.policy_lint import serious_findings

POLICY = "s3-bucket-access"
MIB = 1024 * 1024


def key_policy(iam: Any, binding_id: str) -> dict[str, Any]:
    return iam.get_user_policy(UserName=user_name(binding_id), PolicyName=POLICY)["PolicyDocument"]


# Rotation (OSB 2.17)


def test_plans_declare_binding_rotation(osb: OSBClient) -> None:
    (service,) = osb.catalog().json()["services"]
    assert all(plan["binding_rotatable"] is True for plan in service["plans"])
    schema = service["plans"][0]["schemas"]["service_binding"]["create"]["parameters"]
    assert schema["properties"]["permissions"]["enum"] == ["read-write", "read-only", "write-only"]
    assert "description" in schema["properties"]["expires_in_days"]


def test_rotation_copies_the_options_and_both_keys_work_until_the_old_is_unbound(
    osb: OSBClient, instance: str, iam: Any, s3: Any
) -> None:
    bucket = f"cf-s3-{instance}"
    s3.put_object(Bucket=bucket, Key="img/cat.png", Body=b"meow")
    old_id, new_id_ = new_id(), new_id()
    first = osb.bind(instance, old_id, {"permissions": "read-only", "path_prefix": "img/"})
    assert first.status_code == 201, first.text
    rotated = osb.bind(instance, new_id_, predecessor_binding_id=old_id)  # no parameters: the platform need not resend
    assert rotated.status_code == 201, rotated.text
    old, new = first.json()["credentials"], rotated.json()["credentials"]
    assert new["access_key_id"] != old["access_key_id"]
    assert (new["permissions"], new["path_prefix"]) == ("read-only", "img/")
    assert key_policy(iam, new_id_) == key_policy(iam, old_id)
    for credentials in (old, new):  # side by side
        reader = s3_with(credentials)
        assert reader.get_object(Bucket=bucket, Key="img/cat.png")["Body"].read() == b"meow"
        assert refused(reader.put_object, Bucket=bucket, Key="img/x", Body=b"x") == "AccessDenied"
    assert osb.unbind(instance, old_id).status_code == 200
    assert refused(s3_with(old).list_objects_v2, Bucket=bucket, Prefix="img/") == "InvalidAccessKeyId"
    assert s3_with(new).list_objects_v2(Bucket=bucket, Prefix="img/")["KeyCount"] == 1
    # The rotated binding records the same options, so it can be rotated in turn.
    again = osb.bind(instance, new_id(), predecessor_binding_id=new_id_)
    assert again.status_code == 201, again.text
    assert again.json()["credentials"]["path_prefix"] == "img/"


def test_a_repeated_rotation_is_the_same_request(osb: OSBClient, instance: str) -> None:
    old_id, rotated_id = new_id(), new_id()
    assert osb.bind(instance, old_id, {"permissions": "read-only"}).status_code == 201
    assert osb.bind(instance, rotated_id, predecessor_binding_id=old_id).status_code == 201
    repeat = osb.bind(instance, rotated_id, predecessor_binding_id=old_id)
    assert repeat.status_code == 200, repeat.text
    assert repeat.json()["credentials"]["permissions"] == "read-only"


def test_rotation_accepts_the_predecessors_own_parameters_and_refuses_others(osb: OSBClient, instance: str) -> None:
    old_id = new_id()
    assert osb.bind(instance, old_id, {"permissions": "read-only"}).status_code == 201
    same = osb.bind(instance, new_id(), {"permissions": "read-only"}, predecessor_binding_id=old_id)
    assert same.status_code == 201, same.text
    empty = osb.bind(instance, new_id(), {}, predecessor_binding_id=old_id)
    assert empty.status_code == 201, empty.text
    assert empty.json()["credentials"]["permissions"] == "read-only"
    other = osb.bind(instance, new_id(), {"permissions": "read-write"}, predecessor_binding_id=old_id)
    assert other.status_code == 400
    assert other.json()["error"] == "InvalidParameters"
    assert old_id in other.json()["description"]


@pytest.mark.parametrize("predecessor", ["of-another-instance", "missing", "itself"])
def test_the_predecessor_must_be_a_binding_of_the_same_instance(
    osb: OSBClient, instance: str, iam: Any, predecessor: str
) -> None:
    binding_id = new_id()
    if predecessor == "of-another-instance":
        other = new_id()
        assert osb.provision(other).status_code == 201
        predecessor_id = new_id()
        assert osb.bind(other, predecessor_id).status_code == 201
    else:
        predecessor_id = binding_id if predecessor == "itself" else new_id()
    response = osb.bind(instance, binding_id, predecessor_binding_id=predecessor_id)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "BadRequest"
    assert predecessor_id in response.json()["description"] or "itself" in response.json()["description"]
    assert not user_exists(iam, binding_id)


@pytest.mark.parametrize("value", [42, "", "../x", ["a"], "bindung-\u00fc"])
def test_a_malformed_predecessor_binding_id_is_400(osb: OSBClient, instance: str, iam: Any, value: Any) -> None:
    binding_id = new_id()
    response = osb.bind(instance, binding_id, predecessor_binding_id=value)
    assert response.status_code == 400, response.text
    assert "predecessor_binding_id" in response.json()["description"]
    assert not user_exists(iam, binding_id)


def test_a_predecessor_without_recorded_options_is_422(osb: OSBClient, instance: str, iam: Any) -> None:
    legacy = new_id()  # as an earlier broker version made it: instance tag, no options
    iam.create_user(
        UserName=user_name(legacy),
        Path=f"/cf-s3-broker/{instance}/",
        Tags=[{"Key": "s3-broker:instance-id", "Value": instance}],
    )
    binding_id = new_id()
    response = osb.bind(instance, binding_id, predecessor_binding_id=legacy)
    assert response.status_code == 422, response.text
    assert "did not record" in response.json()["description"]
    assert not user_exists(iam, binding_id)
    assert osb.unbind(instance, legacy).status_code == 200


@pytest.mark.parametrize(
    "planted",
    [
        {"path_prefix": "**"},  # the key would reach the whole bucket: arn:aws:s3:::bucket/**
        {"permissions": "admin"},
        {"external_buckets": ["cf-s3-someone-elses-instance"]},
        {"expires_in_days": "never"},
    ],
)
def test_rotation_checks_the_predecessors_recorded_options_as_a_fresh_bind_does(
    osb: OSBClient, instance: str, iam: Any, planted: dict[str, Any]
) -> None:
    """Options read back from the predecessor's tags are input too: tags can be written by anyone
    with iam:TagUser on the user, and a bind's options were checked against the rules of the time."""
    old_id = new_id()
    assert osb.bind(instance, old_id, {"permissions": "read-only", "path_prefix": "img/"}).status_code == 201
    tags = {tag["Key"]: tag["Value"] for tag in iam.list_user_tags(UserName=user_name(old_id))["Tags"]}
    recorded = {**binding_records.config_from_tags(tags).__dict__, **planted}  # type: ignore[union-attr]
    encoded = base64.b64encode(json.dumps(recorded, default=list).encode()).decode()
    iam.tag_user(UserName=user_name(old_id), Tags=[{"Key": "s3-broker:config-0", "Value": encoded}])
    binding_id = new_id()
    response = osb.bind(instance, binding_id, predecessor_binding_id=old_id)
    assert response.status_code in (400, 422), response.text
    # Refused by the schema (naming the predecessor) or by the bind's later checks (naming the parameter).
    description = response.json()["description"]
    assert old_id in description or next(iter(planted)) in description
    assert not user_exists(iam, binding_id)


# Upload-only keys


def test_write_only_key_uploads_including_multipart_and_nothing_else(osb: OSBClient, instance: str, s3: Any) -> None:
    bucket = f"cf-s3-{instance}"
    s3.put_object(Bucket=bucket, Key="others.txt", Body=b"not yours")
    c = bind(osb, instance, {"permissions": "write-only"})
    assert c["permissions"] == "write-only"
    writer = s3_with(c)
    writer.put_object(Bucket=bucket, Key="upload.txt", Body=b"hello")
    part = os.urandom(5 * MIB)
    upload = writer.create_multipart_upload(Bucket=bucket, Key="big.bin")["UploadId"]
    etags = [
        writer.upload_part(Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=n, Body=part)["ETag"]
        for n in (1, 2)
    ]
    assert len(writer.list_parts(Bucket=bucket, Key="big.bin", UploadId=upload)["Parts"]) == 2
    writer.complete_multipart_upload(
        Bucket=bucket,
        Key="big.bin",
        UploadId=upload,
        MultipartUpload={"Parts": [{"ETag": etag, "PartNumber": n} for n, etag in enumerate(etags, 1)]},
    )
    abandoned = writer.create_multipart_upload(Bucket=bucket, Key="half.bin")["UploadId"]
    writer.abort_multipart_upload(Bucket=bucket, Key="half.bin", UploadId=abandoned)
    assert s3.head_object(Bucket=bucket, Key="big.bin")["ContentLength"] == 10 * MIB
    for call, arguments in (
        (writer.get_object, {"Key": "upload.txt"}),
        (writer.get_object, {"Key": "others.txt"}),
        (writer.head_object, {"Key": "others.txt"}),
        (writer.list_objects_v2, {}),
        (writer.list_object_versions, {}),
        (writer.list_multipart_uploads, {}),
        (writer.delete_object, {"Key": "others.txt"}),
        (writer.get_object_tagging, {"Key": "others.txt"}),
        (
            writer.put_bucket_cors,
            {"CORSConfiguration": {"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]}},
        ),
    ):
        assert refused(call, Bucket=bucket, **arguments) in {"AccessDenied", "403"}, call
    assert s3.get_object(Bucket=bucket, Key="others.txt")["Body"].read() == b"not yours"


def test_write_only_key_with_a_prefix_uploads_only_under_it(osb: OSBClient, instance: str, iam: Any) -> None:
    binding_id = new_id()
    response = osb.bind(instance, binding_id, {"permissions": "write-only", "path_prefix": "inbox/"})
    assert response.status_code == 201, response.text
    c = response.json()["credentials"]
    writer = s3_with(c)
    writer.put_object(Bucket=c["bucket"], Key="inbox/a.csv", Body=b"1")
    assert refused(writer.put_object, Bucket=c["bucket"], Key="outbox/a.csv", Body=b"1") == "AccessDenied"
    assert refused(writer.list_objects_v2, Bucket=c["bucket"], Prefix="inbox/") == "AccessDenied"
    (statement,) = key_policy(iam, binding_id)["Statement"]
    assert statement["Action"] == list(documents.WRITE_ONLY_OBJECT_ACTIONS)
    assert statement["Resource"] == [f"arn:aws:s3:::{c['bucket']}/inbox/*"]


# Keys that expire


def test_an_expiring_key_carries_osb_metadata_and_a_time_bound_policy(osb: OSBClient, instance: str, iam: Any) -> None:
    binding_id = new_id()
    before = datetime.now(UTC).replace(microsecond=0)
    response = osb.bind(instance, binding_id, {"expires_in_days": 30})
    after = datetime.now(UTC)
    assert response.status_code == 201, response.text
    metadata = response.json()["metadata"]
    expires_at = datetime.strptime(metadata["expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    renew_before = datetime.strptime(metadata["renew_before"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert before + timedelta(days=30) <= expires_at <= after + timedelta(days=30)
    assert expires_at - renew_before == timedelta(days=6)  # the last fifth of its life
    iam_time = expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    document = key_policy(iam, binding_id)
    assert all(s["Condition"]["DateLessThan"] == {"aws:CurrentTime": iam_time} for s in document["Statement"])
    # moto does not evaluate the condition: before that time the key works as any other.
    c = response.json()["credentials"]
    s3_with(c).put_object(Bucket=c["bucket"], Key="x", Body=b"x")
    # The same request again is the same binding: same expiry, a fresh key.
    repeat = osb.bind(instance, binding_id, {"expires_in_days": 30})
    assert repeat.status_code == 200, repeat.text
    assert repeat.json()["metadata"] == metadata
    assert key_policy(iam, binding_id) == document


def test_a_key_that_does_not_expire_has_no_metadata(osb: OSBClient, instance: str) -> None:
    response = osb.bind(instance, new_id())
    assert response.status_code == 201
    assert "metadata" not in response.json()


def test_rotating_an_expiring_binding_gives_a_key_with_a_new_lifetime(osb: OSBClient, instance: str) -> None:
    old_id = new_id()
    first = osb.bind(instance, old_id, {"expires_in_days": 1, "permissions": "write-only"})
    assert first.status_code == 201, first.text
    rotated = osb.bind(instance, new_id(), predecessor_binding_id=old_id)
    assert rotated.status_code == 201, rotated.text
    assert rotated.json()["metadata"]["expires_at"] >= first.json()["metadata"]["expires_at"]
    assert rotated.json()["credentials"]["permissions"] == "write-only"


@pytest.mark.parametrize("days", [0, 3651, -1, 1.5, "7", True])
def test_bad_expiry_is_400(osb: OSBClient, instance: str, iam: Any, days: Any) -> None:
    binding_id = new_id()
    response = osb.bind(instance, binding_id, {"expires_in_days": days})
    assert response.status_code == 400, response.text
    assert "expires_in_days" in response.json()["description"]
    assert not user_exists(iam, binding_id)


# VPC endpoints


VPCES = ("vpce-0a1b2c3d4e5f60718", "vpce-1a2b3c4d")


def test_vpc_endpoints_let_requests_through_beside_the_address_ranges(backend: Backend, iam: Any) -> None:
    # moto denies every request under a Deny with a Condition: the bind must still succeed (the
    # probe accepts a denial) and the document is what AWS evaluates.
    settings = backend.settings(allowed_source_cidrs=("192.0.2.0/24",), allowed_vpc_endpoint_ids=VPCES)
    with BrokerServer(settings) as server:
        osb = server.osb()
        instance_id = new_id()
        assert osb.provision(instance_id).status_code == 201
        inside = new_id()
        assert osb.bind(instance_id, inside).status_code == 201
        deny = key_policy(iam, inside)["Statement"][-1]
        assert deny["Effect"] == "Deny" and deny["Resource"] == "*"
        assert deny["Condition"] == {
            "NotIpAddressIfExists": {"aws:SourceIp": ["192.0.2.0/24"]},
            "StringNotEqualsIfExists": {"aws:SourceVpce": list(VPCES)},
        }
        outside = new_id()
        assert osb.bind(instance_id, outside, {"allow_external_access": True}).status_code == 201
        assert all(s["Effect"] == "Allow" for s in key_policy(iam, outside)["Statement"])


def deny_applies(condition: dict[str, Any], request: dict[str, str]) -> bool:
    """How IAM evaluates the platform Deny's condition for a request context (only the operators used)."""
    import ipaddress

    def not_ip(values: list[str], present: str | None) -> bool:
        return present is None or not any(ipaddress.ip_address(present) in ipaddress.ip_network(v) for v in values)

    results = []
    for operator, keys in condition.items():
        ((key, values),) = keys.items()
        present = request.get(key)
        if operator in ("NotIpAddress", "NotIpAddressIfExists"):
            results.append(not_ip(values, present))  # a negated operator is true for an absent key
        elif operator == "StringNotEqualsIfExists":
            results.append(present is None or present not in values)
        else:
            raise AssertionError(operator)
    return all(results)  # operators in one condition block are ANDed


@pytest.mark.parametrize(
    ("request_context", "denied"),
    [
        ({"aws:SourceIp": "192.0.2.7"}, False),  # from the platform's egress range
        ({"aws:SourceIp": "198.51.100.1"}, True),  # from anywhere else on the internet
        ({"aws:SourceVpce": "vpce-1a2b3c4d"}, False),  # through the platform's endpoint: no aws:SourceIp
        ({"aws:SourceVpce": "vpce-99999999"}, True),  # through someone else's endpoint
    ],
)
def test_the_platform_deny_lets_through_exactly_the_platform(request_context: dict[str, str], denied: bool) -> None:
    with_vpces = documents.outside_platform_condition(["192.0.2.0/24"], VPCES)
    assert deny_applies(with_vpces, request_context) is denied
    only_vpces = documents.outside_platform_condition([], VPCES)
    assert deny_applies(only_vpces, request_context) is ("aws:SourceVpce" not in request_context or denied)
    document = documents.user_policy(
        ["cf-s3-x"],
        own_account="123456789012",
        read_only=False,
        allowed_source_cidrs=["192.0.2.0/24"],
        allowed_vpc_endpoints=VPCES,
    )
    assert serious_findings(document) == []


def test_vpc_endpoint_setting_is_parsed_and_checked() -> None:
    credentials = {"BROKER_USERNAME": "u", "BROKER_PASSWORD": "p"}
    settings = from_env({**credentials, "ALLOWED_VPC_ENDPOINT_IDS": " vpce-1a2b3c4d, vpce-0a1b2c3d4e5f60718 "})
    assert settings.allowed_vpc_endpoint_ids == ("vpce-1a2b3c4d", "vpce-0a1b2c3d4e5f60718")
    with pytest.raises(SettingsError, match="ALLOWED_VPC_ENDPOINT_IDS"):
        from_env({**credentials, "ALLOWED_VPC_ENDPOINT_IDS": "vpc-1a2b3c4d"})


# What the features cost


def test_the_largest_options_round_trip_through_the_users_tags() -> None:
    from broker.model.binding_records import binding_tags, config_from_tags
    from broker.model.expiry import Expiry
    from broker.model.parameters import BindingConfig

    largest = BindingConfig(
        permissions="write-only",
        allow_external_access=True,
        path_prefix="p/" * 256,
        additional_instances=tuple(f"{n:08d}-0000-4000-8000-000000000000" for n in range(10)),
        external_buckets=tuple(f"{n}{'b' * 62}" for n in range(10)),
        expires_in_days=3650,
    )
    tags = binding_tags(largest, Expiry.after(datetime.now(UTC), 3650))
    assert len(tags) <= 10 and all(len(value) <= 256 for value in tags.values())  # IAM: 50 tags of 256
    assert config_from_tags(tags) == largest
    assert config_from_tags({}) is None
    assert config_from_tags({"s3-broker:config-0": "not base64!"}) is None


def test_all_key_options_at_once_still_fit_two_buckets_with_a_prefix() -> None:
    # The figures docs/design.md gives: expiry, VPC endpoints, KMS and CIDRs together, read-write with a prefix.
    expires_at = datetime(2030, 1, 1, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    kms = ["arn:aws:kms:eu-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"]

    def document(count: int) -> dict[str, Any]:
        return documents.user_policy(
            [f"cf-s3-{n:08d}-0000-4000-8000-000000000000" for n in range(count)],
            own_account="123456789012",
            read_only=False,
            path_prefix="images/",
            kms_key_arns=kms,
            s3_service="s3.eu-west-2.amazonaws.com",
            allowed_source_cidrs=["10.0.0.0/8", "192.0.2.0/24"],
            allowed_vpc_endpoints=VPCES,
            expires_at=expires_at,
        )

    assert documents.fits_user_policy_limit(document(2))
    assert not documents.fits_user_policy_limit(document(3))
