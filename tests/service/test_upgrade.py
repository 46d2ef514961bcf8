"""maintenance_info and `cf upgrade-service` over HTTP: versions recorded, conflicts refused, and
instances and keys of earlier releases brought current with their keys and data intact."""

from __future__ import annotations

import json
from typing import Any

import pytest

from broker import __version__
from testing.clients import refused, s3_with, user_name
from testing.harness import REGION, SERVICE_ID, OSBClient, new_id

CURRENT = {"version": __version__}
ROOT_PATH = "/cf-s3-broker/"


def tags_of(s3: Any, instance_id: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=f"cf-s3-{instance_id}")["TagSet"]}


def user_tags(iam: Any, binding_id: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in iam.get_user(UserName=user_name(binding_id))["User"].get("Tags", [])}


def upgrade(osb: OSBClient, instance_id: str, version: str = __version__) -> Any:
    """What the Cloud Controller sends on `cf upgrade-service`."""
    return osb.update(
        instance_id,
        parameters={},
        maintenance_info={"version": version},
        previous_values={"service_id": SERVICE_ID, "maintenance_info": None},
    )


def bind(osb: OSBClient, instance_id: str, parameters: Any = None, *, binding_id: str) -> dict[str, Any]:
    response = osb.bind(instance_id, binding_id, parameters)
    assert response.status_code == 201, response.text
    return response.json()["credentials"]


def make_behind(s3: Any, instance_id: str, *, drop: tuple[str, ...] = ("s3-broker:version",)) -> None:
    """Make a bucket look as an earlier release left it: without the tags that release did not write."""
    bucket = f"cf-s3-{instance_id}"
    kept = [t for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"] if t["Key"] not in drop]
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": kept})


def test_every_plan_offers_the_brokers_version(osb: OSBClient) -> None:
    plans = [plan for service in osb.catalog().json()["services"] for plan in service["plans"]]
    assert plans and all(plan["maintenance_info"]["version"] == __version__ for plan in plans)
    assert all(plan["maintenance_info"]["description"] for plan in plans)


def test_a_new_instance_records_the_version_and_get_returns_it(osb: OSBClient, s3: Any) -> None:
    instance_id = new_id()
    assert osb.provision(instance_id, maintenance_info=CURRENT).status_code == 201
    assert tags_of(s3, instance_id)["s3-broker:version"] == __version__
    assert osb.get_instance(instance_id).json()["maintenance_info"]["version"] == __version__
    # The same provision again (the Cloud Controller retries) is the same instance.
    assert osb.provision(instance_id, maintenance_info=CURRENT).status_code == 200


@pytest.mark.parametrize("info", [{"version": "0.0.1"}, {"version": __version__ + "-rc1"}])
def test_a_maintenance_info_the_plan_does_not_offer_is_a_conflict_and_makes_nothing(
    osb: OSBClient, s3: Any, instance: str, info: dict[str, str]
) -> None:
    instance_id = new_id()
    response = osb.provision(instance_id, maintenance_info=info)
    assert response.status_code == 422 and response.json()["error"] == "MaintenanceInfoConflict"
    assert __version__ in response.json()["description"]
    assert refused(s3.head_bucket, Bucket=f"cf-s3-{instance_id}") in ("404", "NoSuchBucket")
    before = tags_of(s3, instance)
    response = osb.update(instance, parameters={"versioning": True}, maintenance_info=info)
    assert response.status_code == 422 and response.json()["error"] == "MaintenanceInfoConflict"
    assert tags_of(s3, instance) == before


@pytest.mark.parametrize("info", ["1.0.0", {"version": 1}, {"version": ""}, {"version": "x" * 65}, []])
def test_a_malformed_maintenance_info_is_a_bad_request(osb: OSBClient, instance: str, info: Any) -> None:
    response = osb.update(instance, parameters={}, maintenance_info=info)
    assert response.status_code == 400 and response.json()["error"] == "BadRequest"


def test_an_instance_of_a_release_before_versions_reads_as_behind_and_upgrades(
    osb: OSBClient, s3: Any, instance: str
) -> None:
    make_behind(s3, instance, drop=("s3-broker:version", "s3-broker:options"))
    body = osb.get_instance(instance).json()
    assert "maintenance_info" not in body
    assert body["parameters"]["require_tls"] is False  # from before TLS-only
    assert upgrade(osb, instance).status_code == 200
    body = osb.get_instance(instance).json()
    assert body["maintenance_info"]["version"] == __version__
    assert body["parameters"]["require_tls"] is True
    assert tags_of(s3, instance)["s3-broker:options"].startswith("tls=on ")
    assert upgrade(osb, instance).status_code == 200  # again: nothing left to do


def test_upgrade_keeps_keys_data_parameters_and_permissions(osb: OSBClient, s3: Any, iam: Any) -> None:
    instance_id = new_id()
    parameters = {"versioning": True, "tags": {"team": "maps"}, "require_tls": False}
    assert osb.provision(instance_id, parameters=parameters).status_code == 201
    writer_id, reader_id = new_id(), new_id()
    writer = bind(osb, instance_id, binding_id=writer_id)
    reader = bind(osb, instance_id, {"permissions": "read-only", "path_prefix": "public/"}, binding_id=reader_id)
    s3_with(writer).put_object(Bucket=writer["bucket"], Key="public/a.txt", Body=b"kept")
    make_behind(s3, instance_id)
    for binding_id in (writer_id, reader_id):
        iam.untag_user(UserName=user_name(binding_id), TagKeys=["s3-broker:version"])
    assert upgrade(osb, instance_id).status_code == 200
    assert osb.get_instance(instance_id).json()["parameters"] == {
        "public_bucket": False,
        "versioning": True,
        "delete_objects_with_service": False,
        "tags": {"team": "maps"},
        "require_tls": False,  # chosen by the user: an upgrade keeps it
        "object_ownership": "BucketOwnerEnforced",
    }
    for binding_id in (writer_id, reader_id):
        assert user_tags(iam, binding_id)["s3-broker:version"] == __version__
    assert s3_with(reader).get_object(Bucket=reader["bucket"], Key="public/a.txt")["Body"].read() == b"kept"
    assert refused(s3_with(reader).put_object, Bucket=reader["bucket"], Key="public/b", Body=b"x") == "AccessDenied"
    assert refused(s3_with(reader).get_object, Bucket=reader["bucket"], Key="other") == "AccessDenied"
    s3_with(writer).put_object(Bucket=writer["bucket"], Key="public/b.txt", Body=b"still writes")
    for binding_id in (writer_id, reader_id):
        assert osb.unbind(instance_id, binding_id).status_code == 200


def test_upgrade_moves_a_user_of_a_release_before_instance_paths_under_its_instance(
    osb: OSBClient, s3: Any, iam: Any, instance: str, backend: Any
) -> None:
    """Releases before per-instance paths made users at IAM_USER_PATH itself, without a boundary and
    without their options in tags; their key keeps working, and they are found, moved and bounded."""
    binding_id = new_id()
    name = user_name(binding_id)
    bucket = f"cf-s3-{instance}"
    tags = {"s3-broker:instance-id": instance, "s3-broker:binding-id": binding_id, "s3-broker:binding-digest": "x"}
    iam.create_user(UserName=name, Path=ROOT_PATH, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": f"arn:aws:s3:::{bucket}"},
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::{bucket}/*"},
        ],
    }
    iam.put_user_policy(UserName=name, PolicyName="s3-bucket-access", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    credentials = {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}
    credentials.update(endpoint=backend.moto.endpoint, region=REGION)
    app = s3_with(credentials)
    app.put_object(Bucket=bucket, Key="old.txt", Body=b"from long ago")
    make_behind(s3, instance)

    assert upgrade(osb, instance).status_code == 200
    user = iam.get_user(UserName=name)["User"]
    assert user["Path"] == f"{ROOT_PATH}{instance}/"
    assert user["PermissionsBoundary"]["PermissionsBoundaryArn"] == backend.permissions_boundary_arn
    assert user_tags(iam, binding_id)["s3-broker:version"] == __version__
    # Its options were never recorded: its own policy is kept (regenerating it could widen the key).
    document = iam.get_user_policy(UserName=name, PolicyName="s3-bucket-access")["PolicyDocument"]
    assert document == policy
    assert app.get_object(Bucket=bucket, Key="old.txt")["Body"].read() == b"from long ago"
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]] == [key["AccessKeyId"]]
    # Now under its instance: deprovision's sweep finds it, and unbind works as for any binding.
    response = osb.unbind(instance, binding_id)
    assert response.status_code == 200, response.text
    assert refused(iam.get_user, UserName=name) == "NoSuchEntity"


def test_an_instance_with_many_keys_upgrades_asynchronously(osb: OSBClient, s3: Any, iam: Any) -> None:
    from broker.operations.upgrade import SYNC_MAX_USERS

    instance_id = new_id()
    assert osb.provision(instance_id).status_code == 201
    binding_ids = [new_id() for _ in range(SYNC_MAX_USERS + 1)]
    keys = [bind(osb, instance_id, binding_id=binding_id) for binding_id in binding_ids]
    make_behind(s3, instance_id)
    for binding_id in binding_ids:
        iam.untag_user(UserName=user_name(binding_id), TagKeys=["s3-broker:version"])
    response = osb.request(
        "PATCH",
        f"/v2/service_instances/{instance_id}",
        params={"accepts_incomplete": "true"},
        json={"service_id": SERVICE_ID, "parameters": {}, "maintenance_info": CURRENT},
    )
    assert response.status_code == 202 and response.json()["operation"] == "upgrade"
    states = []
    for _ in range(10):
        poll = osb.request(
            "GET", f"/v2/service_instances/{instance_id}/last_operation", params={"operation": "upgrade"}
        ).json()
        states.append(poll["state"])
        if poll["state"] != "in progress":
            break
    assert states[-1] == "succeeded", states
    assert osb.get_instance(instance_id).json()["maintenance_info"]["version"] == __version__
    assert all(user_tags(iam, binding_id)["s3-broker:version"] == __version__ for binding_id in binding_ids)
    s3_with(keys[-1]).put_object(Bucket=keys[-1]["bucket"], Key="k", Body=b"works")
