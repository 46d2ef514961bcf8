"""Bindings and service keys over HTTP; the credentials are used with real clients under IAM enforcement."""

from __future__ import annotations

from typing import Any

import pytest

from testing.clients import bind, refused, s3_with, user_exists, user_name
from testing.harness import ALLOWED_KMS_KEY, REGION, Backend, BrokerServer, OSBClient, new_id


def test_credentials_carry_both_platforms_names(osb: OSBClient, instance: str, iam: Any) -> None:
    binding_id = new_id()
    response = osb.bind(instance, binding_id)
    assert response.status_code == 201, response.text
    c = response.json()["credentials"]
    bucket = f"cf-s3-{instance}"
    assert c["bucket_name"] == c["bucket"] == bucket
    assert c["aws_access_key_id"] == c["access_key_id"]
    assert c["aws_secret_access_key"] == c["secret_access_key"]
    assert c["aws_region"] == c["region"] == REGION
    assert "deploy_env" not in c  # DEPLOY_ENV is not set: nothing to tell the app
    assert c["permissions"] == "read-write"
    assert c["iam_user_arn"].endswith(f":user/cf-s3-broker/{instance}/{user_name(binding_id)}")
    assert c["endpoint"].startswith("http://127.0.0.1:")
    host = c["endpoint"].removeprefix("http://")
    assert c["uri"].startswith(f"s3://{c['access_key_id']}:") and c["uri"].endswith(f"@{host}/{bucket}")
    assert "+" not in c["uri"] and "/" not in c["uri"].split("@")[0].removeprefix("s3://")
    user = iam.get_user(UserName=user_name(binding_id))["User"]
    assert user["Path"] == f"/cf-s3-broker/{instance}/"  # one ListUsers call finds an instance's users
    tags = {t["Key"]: t["Value"] for t in user["Tags"]}
    assert tags["s3-broker:instance-id"] == instance
    assert tags["s3-broker:binding-id"] == binding_id


def test_credentials_carry_deploy_env_when_the_operator_sets_it(backend: Backend) -> None:
    with BrokerServer(backend.settings(deploy_env="staging")) as server:
        osb = server.osb()
        instance_id, binding_id = new_id(), new_id()
        assert osb.provision(instance_id).status_code == 201
        response = osb.bind(instance_id, binding_id)
        assert response.status_code == 201, response.text
        assert response.json()["credentials"]["deploy_env"] == "staging"
        assert osb.unbind(instance_id, binding_id).status_code == 200
        assert osb.deprovision(instance_id).status_code == 200


def test_read_write_key_can_put_get_list_delete(osb: OSBClient, instance: str) -> None:
    c = bind(osb, instance)
    s3 = s3_with(c)
    s3.put_object(Bucket=c["bucket"], Key="a.txt", Body=b"hello")
    assert s3.get_object(Bucket=c["bucket"], Key="a.txt")["Body"].read() == b"hello"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=c["bucket"])["Contents"]] == ["a.txt"]
    s3.delete_object(Bucket=c["bucket"], Key="a.txt")
    assert s3.list_objects_v2(Bucket=c["bucket"])["KeyCount"] == 0


def test_read_only_key_reads_but_cannot_write_or_delete(osb: OSBClient, instance: str, s3: Any) -> None:
    bucket = f"cf-s3-{instance}"
    s3.put_object(Bucket=bucket, Key="report.csv", Body=b"1,2")
    c = bind(osb, instance, {"permissions": "read-only"})
    assert c["permissions"] == "read-only"
    reader = s3_with(c)
    assert reader.get_object(Bucket=bucket, Key="report.csv")["Body"].read() == b"1,2"
    assert reader.list_objects_v2(Bucket=bucket)["KeyCount"] == 1
    assert refused(reader.put_object, Bucket=bucket, Key="x", Body=b"x") == "AccessDenied"
    assert refused(reader.delete_object, Bucket=bucket, Key="report.csv") == "AccessDenied"
    assert s3.get_object(Bucket=bucket, Key="report.csv")["Body"].read() == b"1,2"


def test_key_of_bucket_a_is_refused_on_bucket_b(osb: OSBClient, instance: str) -> None:
    other = new_id()
    assert osb.provision(other).status_code == 201
    c = bind(osb, instance)
    s3 = s3_with(c)
    bucket_b = f"cf-s3-{other}"
    assert refused(s3.put_object, Bucket=bucket_b, Key="x", Body=b"x") == "AccessDenied"
    assert refused(s3.list_objects_v2, Bucket=bucket_b) == "AccessDenied"
    assert refused(s3.list_buckets) == "AccessDenied"


def test_unbind_deletes_user_and_key(osb: OSBClient, instance: str, iam: Any) -> None:
    binding_id = new_id()
    c = osb.bind(instance, binding_id).json()["credentials"]
    s3 = s3_with(c)
    s3.put_object(Bucket=c["bucket"], Key="x", Body=b"x")
    response = osb.unbind(instance, binding_id)
    assert response.status_code == 200, response.text
    assert response.json() == {}
    assert not user_exists(iam, binding_id)
    assert refused(s3.get_object, Bucket=c["bucket"], Key="x") in {"InvalidAccessKeyId", "AccessDenied"}
    gone = osb.unbind(instance, binding_id)
    assert gone.status_code == 410
    assert gone.json()["error"] == "Gone"


def test_service_key_behaves_like_a_binding(osb: OSBClient, instance: str) -> None:
    c = bind(osb, instance, {"permissions": "read-only"}, app_guid=None)
    reader = s3_with(c)
    assert reader.list_objects_v2(Bucket=c["bucket"])["KeyCount"] == 0
    assert refused(reader.put_object, Bucket=c["bucket"], Key="x", Body=b"x") == "AccessDenied"


def test_repeat_bind_gives_a_fresh_working_key_and_never_deletes_one_still_in_flight(
    osb: OSBClient, instance: str, iam: Any
) -> None:
    binding_id = new_id()
    first = osb.bind(instance, binding_id, {"permissions": "read-only"})
    assert first.status_code == 201
    again = osb.bind(instance, binding_id, {"permissions": "read-only"})
    assert again.status_code == 200, again.text
    old, new = first.json()["credentials"], again.json()["credentials"]
    assert old["access_key_id"] != new["access_key_id"]
    assert s3_with(new).list_objects_v2(Bucket=new["bucket"])["KeyCount"] == 0
    # The first key is seconds old: the request that made it could still be answering, so it stays.
    assert s3_with(old).list_objects_v2(Bucket=old["bucket"])["KeyCount"] == 0
    # IAM allows two keys a user: a third try while both may be in flight is told to come back.
    third = osb.bind(instance, binding_id, {"permissions": "read-only"})
    assert third.status_code == 422, third.text
    assert third.json()["error"] == "ConcurrencyError"
    assert len(iam.list_access_keys(UserName=user_name(binding_id))["AccessKeyMetadata"]) == 2
    assert osb.unbind(instance, binding_id).status_code == 200
    for key in (old, new):
        assert refused(s3_with(key).list_objects_v2, Bucket=key["bucket"]) == "InvalidAccessKeyId"


def test_only_keys_older_than_any_bind_can_run_are_retired() -> None:
    from datetime import UTC, datetime, timedelta

    from broker.model.access_keys import KeyInfo
    from broker.operations.binding_keys import stale_keys

    now = datetime.now(UTC)
    keys = [KeyInfo("OLD", now - timedelta(seconds=121)), KeyInfo("NEW", now - timedelta(seconds=119))]
    assert stale_keys(keys, now, 120.0) == [keys[0]]
    assert stale_keys(keys, now, 200.0) == []


def test_same_binding_id_with_other_parameters_conflicts(osb: OSBClient, instance: str) -> None:
    binding_id = new_id()
    assert osb.bind(instance, binding_id, {"permissions": "read-only"}).status_code == 201
    conflict = osb.bind(instance, binding_id, {"permissions": "read-write"})
    assert conflict.status_code == 409
    assert conflict.json()["error"] == "Conflict"


def test_bind_to_missing_instance_is_404_and_creates_no_user(osb: OSBClient, iam: Any) -> None:
    binding_id = new_id()
    response = osb.bind(new_id(), binding_id)
    assert response.status_code == 404
    assert "does not exist" in response.json()["description"]
    assert not user_exists(iam, binding_id)


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"permission": "read-only"}, "'permission'"),
        ({"permissions": "admin"}, "permissions"),
        ({"permissions": True}, "permissions"),
        ({"allow_external_access": "yes"}, "allow_external_access"),
        ({"path_prefix": "../etc"}, "path_prefix"),
        ({"additional_instances": ["not-a-guid"]}, "additional_instances"),
        ("read-only", "JSON object"),
    ],
)
def test_bad_bind_parameters_are_400_and_create_no_user(
    osb: OSBClient, instance: str, iam: Any, parameters: Any, named: str
) -> None:
    binding_id = new_id()
    response = osb.bind(instance, binding_id, parameters)
    assert response.status_code == 400, response.text
    assert named in response.json()["description"]
    assert not user_exists(iam, binding_id)


def test_unbind_of_a_half_made_binding_cleans_up(osb: OSBClient, instance: str, iam: Any) -> None:
    binding_id = new_id()
    iam.create_user(  # as if the broker died right after CreateUser
        UserName=user_name(binding_id),
        Path=f"/cf-s3-broker/{instance}/",
        Tags=[{"Key": "s3-broker:instance-id", "Value": instance}],
    )
    response = osb.unbind(instance, binding_id)
    assert response.status_code == 200, response.text
    assert not user_exists(iam, binding_id)


def test_bind_failing_part_way_removes_the_user(backend: Backend, iam: Any) -> None:
    identity = backend.restricted_broker("broker-without-createaccesskey", {"iam:CreateAccessKey"})
    with BrokerServer(backend.settings(identity)) as server:
        osb = server.osb()
        instance_id = new_id()
        assert osb.provision(instance_id).status_code == 201
        binding_id = new_id()
        response = osb.bind(instance_id, binding_id)
        assert response.status_code == 502
        body = response.json()
        assert body["error"] == "AWSError"
        assert "access key" in body["description"] and "broker policy" in body["description"]
        assert not user_exists(iam, binding_id)


def test_path_prefix_limits_the_key_to_its_prefix(osb: OSBClient, instance: str, iam: Any) -> None:
    binding_id = new_id()
    response = osb.bind(instance, binding_id, {"path_prefix": "images/"})
    assert response.status_code == 201, response.text
    c = response.json()["credentials"]
    assert c["path_prefix"] == "images/"
    s3 = s3_with(c)
    s3.put_object(Bucket=c["bucket"], Key="images/cat.png", Body=b"meow")
    assert refused(s3.put_object, Bucket=c["bucket"], Key="secrets/key.pem", Body=b"x") == "AccessDenied"
    policy = iam.get_user_policy(UserName=user_name(binding_id), PolicyName="s3-bucket-access")["PolicyDocument"]
    listing = next(s for s in policy["Statement"] if s["Sid"] == "ListUnderPrefix")
    assert listing["Condition"]["StringLike"] == {"s3:prefix": ["images/*"]}


def test_additional_instances_in_the_same_org(osb: OSBClient, instance: str) -> None:
    other = new_id()
    assert osb.provision(other).status_code == 201
    c = bind(osb, instance, {"additional_instances": [other]})
    assert c["additional_buckets"] == [f"cf-s3-{other}"]
    s3 = s3_with(c)
    s3.put_object(Bucket=f"cf-s3-{other}", Key="shared", Body=b"x")
    s3.put_object(Bucket=c["bucket"], Key="own", Body=b"x")


def test_additional_instance_of_another_org_is_refused(osb: OSBClient, instance: str, iam: Any) -> None:
    foreign = new_id()
    other_org = new_id()
    assert (
        osb.provision(foreign, organization_guid=other_org, context={"organization_guid": other_org}).status_code == 201
    )
    binding_id = new_id()
    response = osb.bind(instance, binding_id, {"additional_instances": [foreign]})
    assert response.status_code == 400
    assert foreign in response.json()["description"]
    assert not user_exists(iam, binding_id)


def test_external_buckets_come_with_the_policy_their_owner_applies(osb: OSBClient, instance: str, iam: Any) -> None:
    binding_id = new_id()
    response = osb.bind(instance, binding_id, {"external_buckets": ["legacy-assets"], "permissions": "read-only"})
    assert response.status_code == 201, response.text
    c = response.json()["credentials"]
    document = c["external_bucket_policies"]["legacy-assets"]
    assert all(s["Principal"] == {"AWS": c["iam_user_arn"]} for s in document["Statement"])
    resources = {r for s in document["Statement"] for r in s["Resource"]}
    assert resources == {"arn:aws:s3:::legacy-assets", "arn:aws:s3:::legacy-assets/*"}
    user_policy = iam.get_user_policy(UserName=user_name(binding_id), PolicyName="s3-bucket-access")["PolicyDocument"]
    assert "arn:aws:s3:::legacy-assets/*" in {r for s in user_policy["Statement"] for r in s["Resource"]}


def test_kms_bucket_gives_its_bindings_the_key_permissions(osb: OSBClient, iam: Any) -> None:
    kms = ALLOWED_KMS_KEY
    instance_id = new_id()
    assert osb.provision(instance_id, parameters={"kms_key_arn": kms}).status_code == 201
    for permissions, actions in (
        ("read-only", ["kms:Decrypt"]),
        ("read-write", ["kms:Decrypt", "kms:GenerateDataKey"]),
    ):
        binding_id = new_id()
        assert osb.bind(instance_id, binding_id, {"permissions": permissions}).status_code == 201
        policy = iam.get_user_policy(UserName=user_name(binding_id), PolicyName="s3-bucket-access")["PolicyDocument"]
        kms_statement = next(s for s in policy["Statement"] if s["Sid"] == "BucketKeys")
        assert kms_statement["Action"] == actions
        assert kms_statement["Resource"] == [kms]
        assert kms_statement["Condition"] == {"StringEquals": {"kms:ViaService": [f"s3.{REGION}.amazonaws.com"]}}


def test_source_addresses_are_enforced_unless_external_access_is_allowed(backend: Backend, iam: Any) -> None:
    # moto denies every request under a Deny with a Condition, so the key's use is not tested
    # here: the policy document is, and the bind must still succeed (the probe accepts a denial).
    settings = backend.settings(allowed_source_cidrs=("10.0.0.0/8", "192.0.2.0/24"))
    with BrokerServer(settings) as server:
        osb = server.osb()
        instance_id = new_id()
        assert osb.provision(instance_id).status_code == 201
        inside = new_id()
        assert osb.bind(instance_id, inside).status_code == 201
        policy = iam.get_user_policy(UserName=user_name(inside), PolicyName="s3-bucket-access")["PolicyDocument"]
        deny = policy["Statement"][-1]
        assert deny["Effect"] == "Deny"
        assert deny["Condition"] == {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.0/24"]}}
        outside = new_id()
        assert osb.bind(instance_id, outside, {"allow_external_access": True}).status_code == 201
        policy = iam.get_user_policy(UserName=user_name(outside), PolicyName="s3-bucket-access")["PolicyDocument"]
        assert all(s["Effect"] == "Allow" for s in policy["Statement"])


def test_permissions_boundary_is_sent_with_create_user(broker: BrokerServer, iam: Any) -> None:
    # moto keeps permissions boundaries of roles only, so the request itself is observed here.
    from broker.aws.clients import make_clients
    from broker.aws.probe import KeyProbe
    from broker.aws.users import Users

    boundary = broker.settings.iam_permissions_boundary_arn
    assert boundary and boundary.endswith(":policy/s3-broker-binding-boundary")
    clients = make_clients(broker.settings)
    sent: list[dict[str, Any]] = []
    clients.iam.meta.events.register("provide-client-params.iam.CreateUser", lambda params, **_: sent.append(params))
    probe = KeyProbe(REGION, broker.settings.aws_endpoint_url, pool_size=1)
    users = Users(clients.iam, probe, boundary, pool=None)  # type: ignore[arg-type]
    name = user_name(new_id())
    users.create(name, "/cf-s3-broker/i/", {"s3-broker:binding-id": "x"})
    assert sent[0]["PermissionsBoundary"] == boundary
    assert sent[0]["Path"] == "/cf-s3-broker/i/"
    assert users.delete(name)
    assert not user_exists(iam, name.removeprefix("cf-s3-"))


def test_key_probe_backs_off_and_gives_up_at_its_bound(broker: BrokerServer) -> None:
    # A key AWS never accepts: the probe must retry with backoff, then stop at the bound.
    from broker.aws.clients import make_clients
    from broker.aws.probe import KeyProbe
    from broker.aws.users import Users
    from broker.errors import UpstreamUnavailable
    from broker.model.access_keys import AccessKey

    probe = KeyProbe(REGION, broker.settings.aws_endpoint_url, pool_size=1)
    users = Users(make_clients(broker.settings).iam, probe, None, pool=None)  # type: ignore[arg-type]
    never_valid = AccessKey("AKIAEXAMPLENOTAKEY00", "not-a-secret")
    with pytest.raises(UpstreamUnavailable, match=r"within 0\.5 seconds"):
        users.wait_until_key_works(never_valid, "cf-s3-any", "", 0.5, denial_expected=False)


def test_fifteen_binds_at_once_on_one_instance(osb: OSBClient, instance: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(15) as pool:
        responses = list(pool.map(lambda _: osb.bind(instance, new_id()), range(15)))
    assert [r.status_code for r in responses] == [201] * 15
    keys = {r.json()["credentials"]["access_key_id"] for r in responses}
    assert len(keys) == 15


def test_cors_rules_a_read_write_key_sets_show_in_the_instances_parameters(osb: OSBClient, instance: str) -> None:
    """A read-write key may set the bucket's CORS rules (as docs/users.md says), so `cf service --params`
    reads them back from S3 every time, even for an instance made without any."""
    assert "cors_rules" not in osb.get_instance(instance).json().get("parameters", {})
    key = s3_with(bind(osb, instance))
    rules = [{"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET"]}]
    key.put_bucket_cors(Bucket=f"cf-s3-{instance}", CORSConfiguration={"CORSRules": rules})
    shown = osb.get_instance(instance).json()["parameters"]
    assert shown["cors_rules"] == rules
