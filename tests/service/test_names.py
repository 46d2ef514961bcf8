"""Org, space and instance names as tags on the bucket and its binding users, over HTTP: recorded at
provision and bind, kept current by the Cloud Controller's context updates, made tag-safe."""

from __future__ import annotations

import re
from typing import Any

import pytest

from broker import __version__
from broker.model.names import VALUE_MAX, tag_safe
from testing.clients import user_name
from testing.harness import BASIC, ORG, SERVICE_ID, SPACE, OSBClient, new_id

ORG_TAG, SPACE_TAG, INSTANCE_TAG = (
    "s3-broker:organization-name",
    "s3-broker:space-name",
    "s3-broker:instance-name",
)
# What AWS documents for S3 and IAM tag values.
AWS_TAG_VALUE = re.compile(r"[\w\s_.:/=+\-@]*", re.UNICODE)


def context(**names: str) -> dict[str, Any]:
    return {"platform": "cloudfoundry", "organization_guid": ORG, "space_guid": SPACE, **names}


def bucket_tags(s3: Any, instance_id: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=f"cf-s3-{instance_id}")["TagSet"]}


def user_tags(iam: Any, binding_id: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in iam.get_user(UserName=user_name(binding_id))["User"].get("Tags", [])}


def names_of(tags: dict[str, str]) -> tuple[str | None, str | None, str | None]:
    return tags.get(ORG_TAG), tags.get(SPACE_TAG), tags.get(INSTANCE_TAG)


def provision_named(osb: OSBClient, **names: str) -> str:
    instance_id = new_id()
    response = osb.provision(instance_id, context=context(**names))
    assert response.status_code == 201, response.text
    return instance_id


def bind_named(osb: OSBClient, instance_id: str, **names: str) -> str:
    binding_id = new_id()
    response = osb.bind(instance_id, binding_id, context=context(**names))
    assert response.status_code == 201, response.text
    return binding_id


def rename(osb: OSBClient, instance_id: str, **names: str) -> None:
    """What the Cloud Controller sends on `cf rename-service` when the catalog allows context updates."""
    response = osb.update(
        instance_id,
        plan_id=BASIC,
        parameters={},
        context=context(**names),
        previous_values={"plan_id": BASIC, "service_id": SERVICE_ID, "organization_id": ORG, "space_id": SPACE},
    )
    assert response.status_code == 200, response.text


def test_the_catalog_allows_context_updates(osb: OSBClient) -> None:
    assert all(service["allow_context_updates"] is True for service in osb.catalog().json()["services"])


def test_names_are_tags_on_the_bucket_and_its_binding_users(osb: OSBClient, s3: Any, iam: Any) -> None:
    instance_id = provision_named(osb, organization_name="acme", space_name="prod", instance_name="photos")
    assert names_of(bucket_tags(s3, instance_id)) == ("acme", "prod", "photos")
    # A bind's context has the org and space names but not the instance's: that comes from the bucket.
    binding_id = bind_named(osb, instance_id, organization_name="acme", space_name="prod")
    assert names_of(user_tags(iam, binding_id)) == ("acme", "prod", "photos")
    # The names are not part of what a repeated provision must match: a retry is still the same instance.
    again = osb.provision(instance_id, context=context(organization_name="acme", space_name="prod"))
    assert again.status_code == 200, again.text


def test_a_rename_reaches_the_bucket_and_every_binding_user(osb: OSBClient, s3: Any, iam: Any) -> None:
    instance_id = provision_named(osb, organization_name="acme", space_name="prod", instance_name="photos")
    bindings = [bind_named(osb, instance_id, organization_name="acme", space_name="prod") for _ in range(2)]
    before = {key: value for key, value in bucket_tags(s3, instance_id).items() if key != INSTANCE_TAG}
    rename(osb, instance_id, organization_name="acme", space_name="prod", instance_name="pictures")
    after = bucket_tags(s3, instance_id)
    assert after[INSTANCE_TAG] == "pictures"
    assert {key: value for key, value in after.items() if key != INSTANCE_TAG} == before  # nothing else moved
    for binding_id in bindings:
        assert names_of(user_tags(iam, binding_id)) == ("acme", "prod", "pictures")
    assert osb.get_instance(instance_id).json()["maintenance_info"]["version"] == __version__


def test_an_org_rename_is_picked_up_by_the_next_bind(osb: OSBClient, s3: Any, iam: Any) -> None:
    """Renaming an org or space sends brokers nothing; the next bind's context carries the new names."""
    instance_id = provision_named(osb, organization_name="acme", space_name="prod", instance_name="photos")
    first = bind_named(osb, instance_id, organization_name="acme", space_name="prod")
    second = bind_named(osb, instance_id, organization_name="acme-corp", space_name="production")
    assert names_of(bucket_tags(s3, instance_id)) == ("acme-corp", "production", "photos")
    for binding_id in (first, second):
        assert names_of(user_tags(iam, binding_id)) == ("acme-corp", "production", "photos")


def test_an_update_with_parameters_refreshes_the_names_too(osb: OSBClient, s3: Any) -> None:
    instance_id = provision_named(osb, organization_name="acme", space_name="prod", instance_name="photos")
    response = osb.update(instance_id, parameters={"versioning": True}, context=context(organization_name="newco"))
    assert response.status_code == 200, response.text
    tags = bucket_tags(s3, instance_id)
    assert names_of(tags) == ("newco", "prod", "photos")
    assert osb.get_instance(instance_id).json()["parameters"]["versioning"] is True


def test_a_request_without_names_keeps_the_ones_recorded(osb: OSBClient, s3: Any, iam: Any) -> None:
    instance_id = provision_named(osb, organization_name="acme", space_name="prod", instance_name="photos")
    binding_id = bind_named(osb, instance_id)
    assert names_of(user_tags(iam, binding_id)) == ("acme", "prod", "photos")
    assert osb.update(instance_id, parameters={"versioning": True}).status_code == 200
    assert names_of(bucket_tags(s3, instance_id)) == ("acme", "prod", "photos")


@pytest.mark.parametrize(
    "name",
    [
        "Team's Org (prod)!",
        "a,b;c*d?e#f%g&h",
        "tab\there\nnewline",
        "emoji 🚀 name",
        "x" * 400,
        "<script>alert(1)</script>",
        "ünïcödé 東京 org",
    ],
)
def test_names_tags_refuse_are_made_tag_safe_not_refused(osb: OSBClient, s3: Any, iam: Any, name: str) -> None:
    instance_id = provision_named(osb, organization_name=name, space_name=name, instance_name=name)
    binding_id = bind_named(osb, instance_id, organization_name=name, space_name=name)
    for tags in (bucket_tags(s3, instance_id), user_tags(iam, binding_id)):
        for value in names_of(tags):
            assert value == tag_safe(name)
            assert value is not None and len(value) <= VALUE_MAX and AWS_TAG_VALUE.fullmatch(value)


def test_tag_safe_is_deterministic_and_keeps_what_tags_accept() -> None:
    assert tag_safe("acme-corp_1 prod.eu:west/a=b+c@d") == "acme-corp_1 prod.eu:west/a=b+c@d"
    assert tag_safe("ünïcödé 東京") == "ünïcödé 東京"
    assert tag_safe("Team's (prod)!") == "Team_s _prod__" == tag_safe("Team's (prod)!")
    assert len(tag_safe("y" * 1000)) == VALUE_MAX


@pytest.mark.parametrize("field", ["organization_name", "space_name", "instance_name"])
def test_a_name_that_is_not_a_string_is_a_400_and_makes_nothing(osb: OSBClient, s3: Any, field: str) -> None:
    instance_id = new_id()
    response = osb.provision(instance_id, context={**context(), field: {"not": "a name"}})
    assert response.status_code == 400 and field in response.json()["description"]
    buckets = [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]
    assert f"cf-s3-{instance_id}" not in buckets


def test_flags_are_kept_in_the_options_tag_and_old_buckets_read_back(osb: OSBClient, s3: Any) -> None:
    """The public, versioning and delete-objects flags share the options tag (room for the names);
    a bucket of an earlier release, with a tag for each, reads back the same."""
    instance_id = new_id()
    response = osb.provision(instance_id, parameters={"versioning": True}, context=context(organization_name="acme"))
    assert response.status_code == 201, response.text
    tags = bucket_tags(s3, instance_id)
    assert "public=off versioning=on delete-objects=off" in tags["s3-broker:options"]
    assert not {"s3-broker:public", "s3-broker:versioning", "s3-broker:delete-objects"} & set(tags)
    shown = osb.get_instance(instance_id).json()["parameters"]
    # As an earlier release wrote it: the flags as their own tags, the options tag without them.
    old = {key: value for key, value in tags.items() if key != "s3-broker:options"}
    old["s3-broker:options"] = tags["s3-broker:options"].split(" public=")[0]
    old.update({"s3-broker:public": "false", "s3-broker:versioning": "true", "s3-broker:delete-objects": "false"})
    s3.put_bucket_tagging(
        Bucket=f"cf-s3-{instance_id}", Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in old.items()]}
    )
    assert osb.get_instance(instance_id).json()["parameters"] == shown
    # A repeated provision still matches it.
    again = osb.provision(instance_id, parameters={"versioning": True}, context=context(organization_name="acme"))
    assert again.status_code == 200, again.text


def test_an_upgrade_converts_an_old_bucket_and_names_its_users(osb: OSBClient, s3: Any, iam: Any) -> None:
    instance_id = provision_named(osb, organization_name="acme", space_name="prod", instance_name="photos")
    binding_id = bind_named(osb, instance_id, organization_name="acme", space_name="prod")
    tags = bucket_tags(s3, instance_id)
    # The bucket as a release before versions and names left it; its user without names.
    old = {k: v for k, v in tags.items() if k not in ("s3-broker:version", ORG_TAG, SPACE_TAG, INSTANCE_TAG)}
    old["s3-broker:options"] = tags["s3-broker:options"].split(" public=")[0]
    old.update({"s3-broker:public": "false", "s3-broker:versioning": "false", "s3-broker:delete-objects": "false"})
    s3.put_bucket_tagging(
        Bucket=f"cf-s3-{instance_id}", Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in old.items()]}
    )
    iam.untag_user(UserName=user_name(binding_id), TagKeys=[ORG_TAG, SPACE_TAG, INSTANCE_TAG, "s3-broker:version"])
    response = osb.update(
        instance_id,
        parameters={},
        maintenance_info={"version": __version__},
        context=context(organization_name="acme", space_name="prod", instance_name="photos"),
        previous_values={"service_id": SERVICE_ID, "maintenance_info": None},
    )
    assert response.status_code == 200, response.text
    assert bucket_tags(s3, instance_id) == tags
    assert names_of(user_tags(iam, binding_id)) == ("acme", "prod", "photos")
