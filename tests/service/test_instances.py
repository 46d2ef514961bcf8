"""Service instances over HTTP, as the Cloud Controller drives them, checked against S3 itself."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from broker import __version__
from testing.buckets import bucket, versioned_bucket_with_leftovers
from testing.harness import ALLOWED_KMS_KEY, BASIC, BASIC_PUBLIC, ORG, SERVICE_ID, SPACE, OSBClient, new_id


def tags(s3: Any, instance_id: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket(instance_id))["TagSet"]}


def exists(s3: Any, instance_id: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket(instance_id))
        return True
    except ClientError:
        return False


def public_access_block(s3: Any, instance_id: str) -> dict[str, bool]:
    return s3.get_public_access_block(Bucket=bucket(instance_id))["PublicAccessBlockConfiguration"]


def bucket_policy(s3: Any, instance_id: str) -> dict[str, Any] | None:
    try:
        return json.loads(s3.get_bucket_policy(Bucket=bucket(instance_id))["Policy"])
    except ClientError as error:
        assert error.response["Error"]["Code"] == "NoSuchBucketPolicy"
        return None


def test_provision_private_bucket(osb: OSBClient, s3: Any) -> None:
    instance = new_id()
    response = osb.provision(instance)
    assert response.status_code == 201, response.text
    assert response.json() == {}
    name = bucket(instance)
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-2"
    assert all(public_access_block(s3, instance).values())
    assert bucket_policy(s3, instance) is None
    rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    ownership = s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert tags(s3, instance) == {
        "s3-broker:instance-id": instance,
        "s3-broker:service-id": SERVICE_ID,
        "s3-broker:plan-id": BASIC,
        "s3-broker:org-guid": ORG,
        "s3-broker:space-guid": SPACE,
        "s3-broker:options": "tls=on ownership=BucketOwnerEnforced public=off versioning=off delete-objects=off",
        "s3-broker:version": __version__,
    }


def test_provision_public_bucket_relaxes_only_policy_blocks(osb: OSBClient, s3: Any) -> None:
    instance = new_id()
    assert osb.provision(instance, BASIC_PUBLIC).status_code == 201
    assert public_access_block(s3, instance) == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": False,
        "RestrictPublicBuckets": False,
    }
    policy = bucket_policy(s3, instance)
    assert policy is not None
    statement = policy["Statement"][0]
    assert statement["Principal"] == "*"
    assert statement["Action"] == ["s3:GetObject"]
    assert statement["Resource"] == [f"arn:aws:s3:::{bucket(instance)}/*"]


def test_private_plan_with_public_bucket_parameter_is_public(osb: OSBClient, s3: Any) -> None:
    instance = new_id()
    assert osb.provision(instance, BASIC, {"public_bucket": True}).status_code == 201
    assert bucket_policy(s3, instance) is not None


def test_provision_with_every_parameter(osb: OSBClient, s3: Any) -> None:
    instance = new_id()
    cors = [{"AllowedOrigins": ["https://example.org"], "AllowedMethods": ["GET", "PUT"], "MaxAgeSeconds": 300}]
    kms = ALLOWED_KMS_KEY
    parameters = {
        "versioning": True,
        "cors_rules": cors,
        "kms_key_arn": kms,
        "tags": {"team": "payments", "cost-centre": "42"},
        "delete_objects_with_service": True,
    }
    assert osb.provision(instance, BASIC, parameters).status_code == 201
    name = bucket(instance)
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    assert s3.get_bucket_cors(Bucket=name)["CORSRules"][0]["AllowedOrigins"] == ["https://example.org"]
    default = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert default["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms}
    assert tags(s3, instance)["team"] == "payments"
    shown = osb.get_instance(instance)
    assert shown.status_code == 200
    assert shown.json() == {
        "service_id": SERVICE_ID,
        "plan_id": BASIC,
        "parameters": {
            **parameters,
            "public_bucket": False,
            "require_tls": True,
            "object_ownership": "BucketOwnerEnforced",
        },
        "maintenance_info": {"version": __version__},
    }


def test_repeat_provision_is_idempotent_and_conflicts_when_different(osb: OSBClient, s3: Any) -> None:
    instance = new_id()
    parameters = {"versioning": True, "cors_rules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]}
    assert osb.provision(instance, BASIC, parameters).status_code == 201
    again = osb.provision(instance, BASIC, parameters)
    assert again.status_code == 200, again.text
    different = osb.provision(instance, BASIC, {"versioning": False})
    assert different.status_code == 409
    assert "already exists" in different.json()["description"]
    other_plan = osb.provision(instance, BASIC_PUBLIC, parameters)
    assert other_plan.status_code == 409
    assert s3.get_bucket_versioning(Bucket=bucket(instance))["Status"] == "Enabled"


def test_update_switches_public_access_both_ways(osb: OSBClient, s3: Any) -> None:
    instance = new_id()
    assert osb.provision(instance).status_code == 201
    to_public = osb.update(instance, BASIC_PUBLIC)
    assert to_public.status_code == 200, to_public.text
    assert bucket_policy(s3, instance) is not None
    assert public_access_block(s3, instance)["BlockPublicPolicy"] is False
    assert osb.get_instance(instance).json()["plan_id"] == BASIC_PUBLIC

    to_private = osb.update(instance, BASIC)
    assert to_private.status_code == 200, to_private.text
    assert bucket_policy(s3, instance) is None
    assert all(public_access_block(s3, instance).values())
    shown = osb.get_instance(instance).json()
    assert shown["plan_id"] == BASIC
    assert shown["parameters"]["public_bucket"] is False


def test_update_changes_only_what_is_asked_and_keeps_the_rest(osb: OSBClient, s3: Any) -> None:
    instance = new_id()
    cors = [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]
    assert osb.provision(instance, BASIC, {"cors_rules": cors, "tags": {"a": "1"}}).status_code == 201
    assert osb.update(instance, parameters={"versioning": True}).status_code == 200
    name = bucket(instance)
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    assert s3.get_bucket_cors(Bucket=name)["CORSRules"][0]["AllowedOrigins"] == ["*"]
    assert tags(s3, instance)["a"] == "1"

    assert osb.update(instance, parameters={"versioning": False, "cors_rules": []}).status_code == 200
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Suspended"
    with pytest.raises(ClientError):
        s3.get_bucket_cors(Bucket=name)
    parameters = osb.get_instance(instance).json()["parameters"]
    assert parameters == {
        "public_bucket": False,
        "versioning": False,
        "delete_objects_with_service": False,
        "tags": {"a": "1"},
        "require_tls": True,
        "object_ownership": "BucketOwnerEnforced",
    }


def test_update_public_plan_refuses_public_bucket_false(osb: OSBClient) -> None:
    instance = new_id()
    assert osb.provision(instance, BASIC_PUBLIC).status_code == 201
    response = osb.update(instance, parameters={"public_bucket": False})
    assert response.status_code == 400
    assert "public_bucket" in response.json()["description"]


def test_update_of_missing_instance_is_404(osb: OSBClient) -> None:
    response = osb.update(new_id(), parameters={"versioning": True})
    assert response.status_code == 404
    assert response.json()["error"] == "NotFound"


def test_get_missing_instance_is_404(osb: OSBClient) -> None:
    response = osb.get_instance(new_id())
    assert response.status_code == 404


def test_deletion_guard_refuses_non_empty_bucket_and_deletes_nothing(osb: OSBClient, s3: Any) -> None:
    instance = new_id()
    assert osb.provision(instance).status_code == 201
    s3.put_object(Bucket=bucket(instance), Key="keep.txt", Body=b"important")
    response = osb.deprovision(instance)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "BucketNotEmpty"
    assert bucket(instance) in body["description"]
    assert "delete_objects_with_service" in body["description"]
    assert s3.get_object(Bucket=bucket(instance), Key="keep.txt")["Body"].read() == b"important"


def test_deletion_guard_counts_delete_markers(osb: OSBClient, s3: Any) -> None:
    instance = new_id()
    assert osb.provision(instance, BASIC, {"versioning": True}).status_code == 201
    s3.put_object(Bucket=bucket(instance), Key="gone.txt", Body=b"x")
    s3.delete_object(Bucket=bucket(instance), Key="gone.txt")  # leaves a version and a delete marker
    assert s3.list_objects_v2(Bucket=bucket(instance)).get("KeyCount") == 0
    assert osb.deprovision(instance).status_code == 422
    assert exists(s3, instance)


def test_deprovision_empty_bucket_then_gone(osb: OSBClient, s3: Any) -> None:
    instance = new_id()
    assert osb.provision(instance).status_code == 201
    response = osb.deprovision(instance)
    assert response.status_code == 200, response.text
    assert response.json() == {}
    assert not exists(s3, instance)
    gone = osb.deprovision(instance)
    assert gone.status_code == 410
    assert gone.json()["error"] == "Gone"


def test_delete_objects_with_service_empties_a_versioned_bucket(osb: OSBClient, s3: Any) -> None:
    instance = versioned_bucket_with_leftovers(osb, s3, files=5)
    response = osb.deprovision(instance)
    assert response.status_code == 200, response.text
    assert not exists(s3, instance)


def test_opting_in_later_with_update_lets_delete_proceed(osb: OSBClient, s3: Any) -> None:
    instance = new_id()
    assert osb.provision(instance).status_code == 201
    s3.put_object(Bucket=bucket(instance), Key="a", Body=b"a")
    assert osb.deprovision(instance).status_code == 422
    assert osb.update(instance, parameters={"delete_objects_with_service": True}).status_code == 200
    assert osb.deprovision(instance).status_code == 200
    assert not exists(s3, instance)


def test_last_operation(osb: OSBClient) -> None:
    instance = new_id()
    assert osb.provision(instance).status_code == 201
    done = osb.request("GET", f"/v2/service_instances/{instance}/last_operation")
    assert done.status_code == 200
    assert done.json()["state"] == "succeeded"
    unknown = osb.request("GET", f"/v2/service_instances/{new_id()}/last_operation")
    assert unknown.status_code == 404
    assert unknown.json()["description"]


def test_us_east_1_reads_before_creating_since_create_bucket_is_idempotent_there(backend: Any, s3: Any) -> None:
    from testing.harness import BrokerServer

    with BrokerServer(backend.settings(aws_region="us-east-1")) as server:
        osb = server.osb()
        instance = new_id()
        assert osb.provision(instance, BASIC, {"versioning": True}).status_code == 201
        assert s3.get_bucket_location(Bucket=bucket(instance))["LocationConstraint"] in (None, "us-east-1")
        assert osb.provision(instance, BASIC, {"versioning": True}).status_code == 200
        assert osb.provision(instance, BASIC, {"versioning": False}).status_code == 409
        assert s3.get_bucket_versioning(Bucket=bucket(instance))["Status"] == "Enabled"
