"""Tenants stay in their own buckets: each wall that moto can enforce is tried with real keys,
and each request that could reach past one is refused before anything is made."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from broker.setting_values import SettingsError
from testing.clients import bind, refused, s3_with, user_exists, user_name
from testing.harness import EXTERNAL_ACCOUNT, ORG, SPACE, Backend, BrokerServer, OSBClient, new_id


def user_policy(iam: Any, binding_id: str) -> dict[str, Any]:
    return iam.get_user_policy(UserName=user_name(binding_id), PolicyName="s3-bucket-access")["PolicyDocument"]


# 1. external_buckets reaches only the accounts the operator allows, never the platform's own.


@pytest.mark.parametrize("named", ["victim", "prefix-only"])
def test_external_bucket_named_like_a_broker_bucket_is_refused(
    osb: OSBClient, instance: str, iam: Any, named: str
) -> None:
    victim = new_id()
    assert osb.provision(victim).status_code == 201
    bucket = f"cf-s3-{victim}" if named == "victim" else "cf-s3-anything"
    binding_id = new_id()
    response = osb.bind(instance, binding_id, {"external_buckets": [bucket]})
    assert response.status_code == 400, response.text
    assert "additional_instances" in response.json()["description"] and bucket in response.json()["description"]
    assert not user_exists(iam, binding_id)


def test_external_bucket_statements_name_only_the_allowed_accounts(osb: OSBClient, instance: str, iam: Any) -> None:
    # An operator bucket in the broker's own account: the key must not reach it. On AWS the
    # ResourceAccount condition refuses it (it is no bucket of the allowed accounts); moto ignores
    # conditions, so the document is checked.
    binding_id = new_id()
    assert osb.bind(instance, binding_id, {"external_buckets": ["ops-terraform-state"]}).status_code == 201
    own_account = "123456789012"  # moto's account, learned by the broker from STS GetCallerIdentity
    statements = user_policy(iam, binding_id)["Statement"]
    external = [s for s in statements if s["Sid"].startswith("External")]
    assert external and all(
        s["Condition"]["StringEquals"] == {"s3:ResourceAccount": [EXTERNAL_ACCOUNT]} for s in external
    )
    own = [s for s in statements if not s["Sid"].startswith("External")]
    assert all("arn:aws:s3:::ops-terraform-state" not in str(s["Resource"]) for s in own)
    # The instance's own bucket only in the broker's account: not one of that name made elsewhere.
    assert own and all(s["Condition"]["StringEquals"] == {"s3:ResourceAccount": [own_account]} for s in own)


def test_external_buckets_are_off_until_the_operator_names_the_accounts(
    backend: Backend, instance: str, iam: Any
) -> None:
    """A bucket that trusts the platform's account or AWS Organization would admit every tenant naming it."""
    binding_id = new_id()
    with BrokerServer(backend.settings(allowed_external_accounts=())) as server:
        response = server.osb().bind(instance, binding_id, {"external_buckets": ["org-wide-logs"]})
        assert response.status_code == 400, response.text
        assert "ALLOWED_EXTERNAL_ACCOUNT_IDS" in response.json()["description"]
        assert not user_exists(iam, binding_id)
        assert server.osb().bind(instance, binding_id).status_code == 201  # without external_buckets, as before


def test_the_platforms_own_account_cannot_be_an_external_account(backend: Backend) -> None:
    own = (("123456789012", None),)  # moto's account, the broker's own
    with pytest.raises(SettingsError, match="ALLOWED_EXTERNAL_ACCOUNT_IDS names 123456789012"):
        BrokerServer(backend.settings(allowed_external_accounts=own))


def test_an_account_allowed_for_another_org_is_not_reachable(backend: Backend, instance: str, iam: Any) -> None:
    other_org = "5e6f7a8b-0000-4000-8000-000000000000"
    only_elsewhere = ((EXTERNAL_ACCOUNT, other_org),)
    binding_id = new_id()
    with BrokerServer(backend.settings(allowed_external_accounts=only_elsewhere)) as server:
        response = server.osb().bind(instance, binding_id, {"external_buckets": ["their-assets"]})
        assert response.status_code == 400, response.text
        assert "for this org" in response.json()["description"]
        assert not user_exists(iam, binding_id)
    both = (*only_elsewhere, (EXTERNAL_ACCOUNT, ORG), ("210987654321", other_org))
    with BrokerServer(backend.settings(allowed_external_accounts=both)) as server:
        assert server.osb().bind(instance, binding_id, {"external_buckets": ["their-assets"]}).status_code == 201
    external = [s for s in user_policy(iam, binding_id)["Statement"] if s["Sid"].startswith("External")]
    assert external and all(
        s["Condition"]["StringEquals"]["s3:ResourceAccount"] == [EXTERNAL_ACCOUNT] for s in external
    )


# 2. The broker's own key cannot make an admin.


def test_broker_key_cannot_change_boundaries_or_attach_policies(
    backend: Backend, osb: OSBClient, instance: str
) -> None:
    iam = backend.client("iam", backend.broker)
    binding_id = new_id()
    assert osb.bind(instance, binding_id).status_code == 201
    name = user_name(binding_id)
    for call, arguments in (
        (iam.delete_user_permissions_boundary, {"UserName": name}),
        (iam.put_user_permissions_boundary, {"UserName": name, "PermissionsBoundary": "arn:aws:iam::aws:policy/x"}),
        (iam.attach_user_policy, {"UserName": name, "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        (iam.create_policy, {"PolicyName": "admin", "PolicyDocument": json.dumps({"Version": "2012-10-17"})}),
    ):
        with pytest.raises(ClientError) as caught:
            call(**arguments)
        assert caught.value.response["Error"]["Code"] == "AccessDenied", call


def test_every_binding_user_is_created_with_the_boundary(backend: Backend, iam: Any) -> None:
    # moto keeps no boundaries on users: the request the broker sends is observed instead.
    with BrokerServer(backend.settings()) as server:
        sent: list[dict[str, Any]] = []
        clients = server.app.extensions["s3_broker.aws"]
        clients.iam.meta.events.register(
            "provide-client-params.iam.CreateUser", lambda params, **_: sent.append(params)
        )
        osb = server.osb()
        instance_id = new_id()
        assert osb.provision(instance_id).status_code == 201
        assert osb.bind(instance_id, new_id(), {"permissions": "read-only"}).status_code == 201
        assert osb.bind(instance_id, new_id(), {"path_prefix": "a/"}).status_code == 201
    assert [p["PermissionsBoundary"] for p in sent] == [backend.permissions_boundary_arn] * 2
    assert iam.get_policy(PolicyArn=backend.permissions_boundary_arn)["Policy"]["PolicyName"]


# 3. Only KMS keys the operator allows, usable only through S3.


def test_kms_key_not_allowed_by_the_operator_is_refused(osb: OSBClient, s3: Any) -> None:
    instance_id = new_id()
    foreign = "arn:aws:kms:eu-west-2:999999999999:key/0000aaaa-0000-0000-0000-000000000000"
    response = osb.provision(instance_id, parameters={"kms_key_arn": foreign})
    assert response.status_code == 400, response.text
    assert "not a key this platform allows" in response.json()["description"]
    assert f"cf-s3-{instance_id}" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert osb.provision(instance_id).status_code == 201
    update = osb.update(instance_id, parameters={"kms_key_arn": foreign})
    assert update.status_code == 400
    assert "SSEAlgorithm" in str(s3.get_bucket_encryption(Bucket=f"cf-s3-{instance_id}"))
    assert "aws:kms" not in str(s3.get_bucket_encryption(Bucket=f"cf-s3-{instance_id}"))


# 4. additional_instances stays inside the org of the binding's own context.


def test_shared_instance_cannot_open_its_home_orgs_other_instances(osb: OSBClient, iam: Any) -> None:
    org_a, org_b = new_id(), new_id()
    shared, unshared = new_id(), new_id()
    for instance_id in (shared, unshared):
        context = {"organization_guid": org_a, "space_guid": SPACE}
        assert osb.provision(instance_id, organization_guid=org_a, context=context).status_code == 201
    # A binding made in org B on the instance shared from org A:
    binding_id = new_id()
    in_org_b = {"platform": "cloudfoundry", "organization_guid": org_b, "space_guid": new_id()}
    response = osb.bind(shared, binding_id, {"additional_instances": [unshared]}, context=in_org_b)
    assert response.status_code == 400, response.text
    assert unshared in response.json()["description"]
    assert not user_exists(iam, binding_id)
    # Made in org A itself, the same request is fine.
    in_org_a = {"platform": "cloudfoundry", "organization_guid": org_a, "space_guid": SPACE}
    assert osb.bind(shared, new_id(), {"additional_instances": [unshared]}, context=in_org_a).status_code == 201


def test_additional_instances_need_the_bindings_context(osb: OSBClient, instance: str) -> None:
    other = new_id()
    assert osb.provision(other).status_code == 201
    response = osb.bind(instance, new_id(), {"additional_instances": [other]}, context=None)
    assert response.status_code == 400
    assert "context" in response.json()["description"]


# 5. Binding routes check that the binding belongs to the instance in the URL.


def test_unbind_and_last_operation_under_another_instance(osb: OSBClient, instance: str, iam: Any) -> None:
    other = new_id()
    assert osb.provision(other).status_code == 201
    binding_id = new_id()
    credentials = osb.bind(instance, binding_id).json()["credentials"]
    wrong = osb.unbind(other, binding_id)
    assert wrong.status_code == 410, wrong.text
    assert "does not belong" in wrong.json()["description"]
    assert user_exists(iam, binding_id)
    assert s3_with(credentials).list_objects_v2(Bucket=credentials["bucket"])["KeyCount"] == 0
    path = "/v2/service_instances/{}/service_bindings/{}/last_operation"
    assert osb.request("GET", path.format(other, binding_id)).status_code == 404
    assert osb.request("GET", path.format(instance, binding_id)).status_code == 200
    assert osb.unbind(instance, binding_id).status_code == 200


def test_binding_ids_differing_only_in_case_are_two_bindings_that_cannot_share_a_user(
    osb: OSBClient, instance: str, iam: Any
) -> None:
    """IAM user names are case-insensitive: cf-s3-ABC and cf-s3-abc are one user on AWS. The second
    bind must not be taken for a repeat of the first (it would get the first's user and a key of it),
    and its unbind must not delete the first's user. (The local IAM's names are case-sensitive; the
    broker lower-cases the id in the user name, so the two meet here as they would on AWS.)"""
    upper = new_id().upper()
    lower = upper.lower()
    first = osb.bind(instance, upper)
    assert first.status_code == 201, first.text
    second = osb.bind(instance, lower)
    assert second.status_code == 409, second.text
    assert upper in second.json()["description"] and "case" in second.json()["description"]
    assert len(iam.list_access_keys(UserName=user_name(lower))["AccessKeyMetadata"]) == 1
    assert osb.unbind(instance, lower).status_code == 410
    credentials = first.json()["credentials"]
    assert s3_with(credentials).list_objects_v2(Bucket=credentials["bucket"])["KeyCount"] == 0
    path = "/v2/service_instances/{}/service_bindings/{}/last_operation"
    assert osb.request("GET", path.format(instance, lower)).status_code == 404
    assert osb.bind(instance, upper).status_code == 200  # the first binding's own repeat
    assert osb.unbind(instance, upper).status_code == 200


# 6. Deprovision never leaves a binding's user or key behind.


def test_deprovision_removes_bindings_left_behind(osb: OSBClient, iam: Any) -> None:
    instance_id = new_id()
    assert osb.provision(instance_id).status_code == 201
    left = [osb.bind(instance_id, new_id()).json()["credentials"] for _ in range(2)]
    assert osb.deprovision(instance_id).status_code == 200
    users = iam.list_users(PathPrefix=f"/cf-s3-broker/{instance_id}/")["Users"]
    assert users == []
    for credentials in left:
        assert refused(s3_with(credentials).list_objects_v2, Bucket=credentials["bucket"]) in {
            "InvalidAccessKeyId",
            "NoSuchBucket",
        }
    assert osb.deprovision(instance_id).status_code == 410


def test_deprovision_retry_finishes_removing_users_after_the_bucket_went(osb: OSBClient, iam: Any, s3: Any) -> None:
    instance_id = new_id()
    assert osb.provision(instance_id).status_code == 201
    binding_id = new_id()
    assert osb.bind(instance_id, binding_id).status_code == 201
    s3.delete_bucket(Bucket=f"cf-s3-{instance_id}")  # as if a deprovision died after DeleteBucket
    assert osb.deprovision(instance_id).status_code == 200
    assert not user_exists(iam, binding_id)


# 7. A prefix key gets no bucket-wide write and only conditions AWS documents.


def test_prefix_key_cannot_change_bucket_settings(osb: OSBClient, instance: str, iam: Any) -> None:
    binding_id = new_id()
    response = osb.bind(instance, binding_id, {"path_prefix": "images/"})
    credentials = response.json()["credentials"]
    rules = {"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]}
    client = s3_with(credentials)
    assert refused(client.put_bucket_cors, Bucket=credentials["bucket"], CORSConfiguration=rules) == "AccessDenied"
    assert refused(client.list_multipart_uploads, Bucket=credentials["bucket"]) == "AccessDenied"
    for statement in user_policy(iam, binding_id)["Statement"]:
        if "s3:prefix" in str(statement.get("Condition")):
            assert set(statement["Action"]) <= {"s3:ListBucket", "s3:ListBucketVersions"}
    whole = bind(osb, instance)  # without a prefix, read-write keeps its bucket-level rights
    s3_with(whole).put_bucket_cors(Bucket=whole["bucket"], CORSConfiguration=rules)


# 8. Patterns match whole values; control characters never reach AWS.


@pytest.mark.parametrize(
    "parameters",
    [
        {"path_prefix": "images/\n"},
        {"external_buckets": ["legacy-assets\n"]},
        {"additional_instances": [new_id() + "\n"]},
    ],
)
def test_bind_values_with_a_trailing_newline_are_400(
    osb: OSBClient, instance: str, iam: Any, parameters: dict[str, Any]
) -> None:
    binding_id = new_id()
    response = osb.bind(instance, binding_id, parameters)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "InvalidParameters"
    assert not user_exists(iam, binding_id)


@pytest.mark.parametrize(
    "parameters",
    [
        {"tags": {"team\n": "a"}},
        {"tags": {"team": "a\n"}},
        {"kms_key_arn": "arn:aws:kms:eu-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\n"},
    ],
)
def test_provision_values_with_a_trailing_newline_are_400(osb: OSBClient, s3: Any, parameters: dict[str, Any]) -> None:
    instance_id = new_id()
    response = osb.provision(instance_id, parameters=parameters)
    assert response.status_code == 400, response.text
    assert f"cf-s3-{instance_id}" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


@pytest.mark.parametrize("field", ["organization_guid", "space_guid"])
@pytest.mark.parametrize("value", ["org\u0000", "org\n", "org\u202e", "a b"])
def test_control_characters_in_org_and_space_are_400(osb: OSBClient, s3: Any, field: str, value: str) -> None:
    instance_id = new_id()
    body = {"organization_guid": ORG, "space_guid": SPACE, field: value}
    context = {"platform": "cloudfoundry", **body}
    response = osb.provision(instance_id, **body, context=context)
    assert response.status_code == 400, response.text
    assert field in response.json()["description"]
    assert f"cf-s3-{instance_id}" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
