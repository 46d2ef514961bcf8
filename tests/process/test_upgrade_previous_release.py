"""The proof of upgrades: instances and keys made by the real previous release (from git history),
on the same local AWS, then served by this release: read back, used, upgraded, and removed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from broker import __version__
from testing.clients import refused, s3_with, user_name
from testing.harness import BASIC, REGION, SERVICE_ID, Backend, OSBClient, new_id
from testing.previous_release import PREVIOUS_RELEASE, export, serve

# Its tests share a server that a module fixture starts: under xdist one worker runs them all.
pytestmark = pytest.mark.xdist_group("upgrade_previous_release")


@pytest.fixture(scope="module")
def previous(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OSBClient]:
    tree = export(PREVIOUS_RELEASE, tmp_path_factory.mktemp("previous-release"))
    if tree is None:
        pytest.skip("this checkout has no git history of the previous release")
    settings = backend.settings()
    environment = {
        "BROKER_USERNAME": settings.broker_username,
        "BROKER_PASSWORD": settings.broker_password,
        "AWS_ENDPOINT_URL": backend.moto.endpoint,
        "AWS_ACCESS_KEY_ID": backend.broker.access_key_id,
        "AWS_SECRET_ACCESS_KEY": backend.broker.secret_access_key,
        "AWS_REGION": REGION,
        "IAM_PERMISSIONS_BOUNDARY_ARN": backend.permissions_boundary_arn,
        "KEY_PROPAGATION_TIMEOUT": "5",
        "LOG_LEVEL": "WARNING",
    }
    with serve(tree, environment) as url:
        yield OSBClient(url, (settings.broker_username, settings.broker_password))


def made_by(osb: OSBClient, parameters: dict[str, Any] | None = None) -> str:
    instance_id = new_id()
    response = osb.provision(instance_id, parameters=parameters)
    assert response.status_code == 201, response.text
    return instance_id


def key_from(osb: OSBClient, instance_id: str, binding_id: str, parameters: Any = None) -> dict[str, Any]:
    response = osb.bind(instance_id, binding_id, parameters)
    assert response.status_code == 201, response.text
    return response.json()["credentials"]


def nothing_left(s3: Any, iam: Any, instance_id: str, binding_ids: list[str]) -> None:
    assert refused(s3.head_bucket, Bucket=f"cf-s3-{instance_id}") in ("404", "NoSuchBucket")
    assert iam.list_users(PathPrefix=f"/cf-s3-broker/{instance_id}/")["Users"] == []
    for binding_id in binding_ids:
        assert refused(iam.get_user, UserName=user_name(binding_id)) == "NoSuchEntity"


def test_the_previous_release_knows_no_versions(previous: OSBClient) -> None:
    catalog = previous.catalog().json()
    assert all("maintenance_info" not in plan for service in catalog["services"] for plan in service["plans"])


def test_instances_and_keys_of_the_previous_release_work_and_upgrade_with_data_and_keys_intact(
    previous: OSBClient, osb: OSBClient, s3: Any, iam: Any
) -> None:
    instance_id = made_by(previous, {"versioning": True, "tags": {"cost-centre": "42"}})
    writer_id, reader_id = new_id(), new_id()
    writer = key_from(previous, instance_id, writer_id)
    reader = key_from(previous, instance_id, reader_id, {"permissions": "read-only"})
    s3_with(writer).put_object(Bucket=writer["bucket"], Key="made-before.txt", Body=b"old data")
    parameters_before = previous.get_instance(instance_id).json()["parameters"]

    # This release reads the instance back, as behind; the old keys keep working.
    shown = osb.get_instance(instance_id).json()
    assert shown["parameters"] == parameters_before
    assert "maintenance_info" not in shown
    assert s3_with(reader).get_object(Bucket=reader["bucket"], Key="made-before.txt")["Body"].read() == b"old data"

    # cf upgrade-service: what the Cloud Controller sends.
    response = osb.update(
        instance_id,
        plan_id=BASIC,
        parameters={},
        maintenance_info={"version": __version__},
        previous_values={"plan_id": BASIC, "service_id": SERVICE_ID, "maintenance_info": None},
    )
    assert response.status_code == 200, response.text
    assert osb.get_instance(instance_id).json() == {**shown, "maintenance_info": {"version": __version__}}
    for binding_id in (writer_id, reader_id):
        tags = {t["Key"]: t["Value"] for t in iam.get_user(UserName=user_name(binding_id))["User"]["Tags"]}
        assert tags["s3-broker:version"] == __version__
        keys = iam.list_access_keys(UserName=user_name(binding_id))["AccessKeyMetadata"]
        assert len(keys) == 1
    assert keys[0]["AccessKeyId"] == reader["access_key_id"]
    # Same keys, same data, same permissions.
    assert s3_with(reader).get_object(Bucket=reader["bucket"], Key="made-before.txt")["Body"].read() == b"old data"
    assert refused(s3_with(reader).put_object, Bucket=reader["bucket"], Key="x", Body=b"x") == "AccessDenied"
    s3_with(writer).put_object(Bucket=writer["bucket"], Key="made-after.txt", Body=b"new data")
    # Again: nothing left to do.
    assert osb.update(instance_id, parameters={}, maintenance_info={"version": __version__}).status_code == 200

    for binding_id in (writer_id, reader_id):
        assert osb.unbind(instance_id, binding_id).status_code == 200
    s3.delete_objects(
        Bucket=writer["bucket"],
        Delete={
            "Objects": [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in s3.list_object_versions(Bucket=writer["bucket"]).get("Versions", [])
            ]
        },
    )
    assert osb.deprovision(instance_id).status_code == 200
    nothing_left(s3, iam, instance_id, [writer_id, reader_id])


def test_the_previous_releases_instances_unbind_and_deprovision_without_an_upgrade(
    previous: OSBClient, osb: OSBClient, s3: Any, iam: Any
) -> None:
    instance_id = made_by(previous)
    kept_id, leftover_id = new_id(), new_id()
    key = key_from(previous, instance_id, kept_id)
    key_from(previous, instance_id, leftover_id)
    assert osb.unbind(instance_id, kept_id).status_code == 200
    assert refused(s3_with(key).list_objects_v2, Bucket=key["bucket"]) == "InvalidAccessKeyId"
    # Deprovision takes the binding left on the instance with it, as for this release's own.
    assert osb.deprovision(instance_id).status_code == 200
    nothing_left(s3, iam, instance_id, [kept_id, leftover_id])


def test_an_instance_this_release_made_is_served_back_by_the_previous_one(previous: OSBClient, osb: OSBClient) -> None:
    """A rollback: the previous release reads an instance of this one (it ignores the version tag)."""
    instance_id = new_id()
    assert osb.provision(instance_id, maintenance_info={"version": __version__}).status_code == 201
    assert previous.get_instance(instance_id).status_code == 200
    assert previous.deprovision(instance_id).status_code == 200
