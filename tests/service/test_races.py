"""Concurrent and conflicting requests on one instance and one binding, across two broker
processes on one backend: every 2xx answer's key works, nothing is left that no binding or
instance accounts for, and races answer 422 ConcurrencyError or the right final state."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from testing.clients import s3_with, user_exists, user_name
from testing.faults import hooked, sets, waits_for
from testing.harness import BASIC, BASIC_PUBLIC, Backend, BrokerServer, OSBClient, new_id

RUNS = 8


@pytest.fixture(scope="module")
def brokers(backend: Backend) -> Iterator[tuple[BrokerServer, BrokerServer]]:
    """Two broker processes' worth of state (each its own app, clients and pools) on one backend."""
    with BrokerServer(backend.settings()) as first, BrokerServer(backend.settings()) as second:
        yield first, second


Call = tuple[Callable[..., requests.Response], tuple[Any, ...]]


def at_once(*calls: Call) -> list[requests.Response]:
    """Send the requests at the same moment, each from its own thread."""
    barrier = threading.Barrier(len(calls))

    def run(call: Call) -> requests.Response:
        function, arguments = call
        barrier.wait()
        return function(*arguments)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def works(credentials: dict[str, Any]) -> bool:
    try:
        s3_with(credentials).list_objects_v2(Bucket=credentials["bucket"])
        return True
    except ClientError:
        return False


def keys_of(iam: Any, binding_id: str) -> set[str]:
    try:
        return {k["AccessKeyId"] for k in iam.list_access_keys(UserName=user_name(binding_id))["AccessKeyMetadata"]}
    except ClientError:
        return set()


def test_identical_binds_at_once_each_hand_out_a_working_key(
    brokers: tuple[BrokerServer, BrokerServer], iam: Any
) -> None:
    a, b = (server.osb() for server in brokers)
    instance_id = new_id()
    assert a.provision(instance_id).status_code == 201
    for _ in range(RUNS):
        binding_id = new_id()
        answers = at_once((a.bind, (instance_id, binding_id)), (b.bind, (instance_id, binding_id)))
        assert sorted(r.status_code for r in answers) in ([200, 201], [201, 422]), [r.text for r in answers]
        handed_out = [r.json()["credentials"] for r in answers if r.status_code < 300]
        assert all(works(c) for c in handed_out)
        # No key exists that no answer carries.
        assert keys_of(iam, binding_id) == {c["access_key_id"] for c in handed_out}
        assert a.unbind(instance_id, binding_id).status_code == 200


def test_a_failing_bind_rolls_back_only_its_own_key(brokers: tuple[BrokerServer, BrokerServer], iam: Any) -> None:
    first, second = brokers
    osb = first.osb()
    instance_id, binding_id = new_id(), new_id()
    assert osb.provision(instance_id).status_code == 201
    user_made, second_has_key = threading.Event(), threading.Event()

    def fail_first_policy(**_: Any) -> None:
        second_has_key.wait(10)
        raise ClientError({"Error": {"Code": "InternalError", "Message": "injected"}}, "PutUserPolicy")

    with (
        hooked(first, "after-call.iam.CreateUser", sets(user_made)),
        hooked(first, "before-call.iam.PutUserPolicy", fail_first_policy),
        hooked(second, "after-call.iam.CreateAccessKey", sets(second_has_key)),
        ThreadPoolExecutor(2) as pool,
    ):
        failing = pool.submit(osb.bind, instance_id, binding_id)
        assert user_made.wait(10)
        repeated = second.osb().bind(instance_id, binding_id)
        failed = failing.result()
    assert failed.status_code == 502, failed.text
    assert repeated.status_code == 200, repeated.text
    credentials = repeated.json()["credentials"]
    assert works(credentials)
    assert keys_of(iam, binding_id) == {credentials["access_key_id"]}


@pytest.mark.parametrize("interferes", ["unbind", "deprovision"])
def test_bind_racing_a_delete_is_a_concurrency_error_and_leaves_no_user(
    brokers: tuple[BrokerServer, BrokerServer], iam: Any, s3: Any, interferes: str
) -> None:
    """The other broker unbinds the binding, or deprovisions its instance, between CreateUser and CreateAccessKey."""
    first, second = brokers
    osb = first.osb()
    instance_id, binding_id = new_id(), new_id()
    assert osb.provision(instance_id).status_code == 201
    user_made, deleted = threading.Event(), threading.Event()
    with (
        hooked(first, "after-call.iam.CreateUser", sets(user_made)),
        hooked(first, "before-call.iam.CreateAccessKey", waits_for(deleted)),
        ThreadPoolExecutor(1) as pool,
    ):
        binding = pool.submit(osb.bind, instance_id, binding_id)
        assert user_made.wait(10)
        other = second.osb()
        delete = other.unbind(instance_id, binding_id) if interferes == "unbind" else other.deprovision(instance_id)
        assert delete.status_code == 200, delete.text
        deleted.set()
        answer = binding.result()
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "ConcurrencyError"
    assert not user_exists(iam, binding_id)
    bucket_left = f"cf-s3-{instance_id}" in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert bucket_left == (interferes == "unbind")


def bucket_matches_its_record(s3: Any, instance_id: str) -> bool:
    bucket = f"cf-s3-{instance_id}"
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled"
    try:
        s3.get_bucket_policy(Bucket=bucket)
        public = True
    except ClientError:
        public = False
    flags = tags["s3-broker:options"].split()
    return ("versioning=on" in flags) == versioning and ("public=on" in flags) == public


@pytest.mark.parametrize(
    ("second", "expected"),
    [((BASIC_PUBLIC, None), [201, 409]), ((BASIC, {"versioning": True}), [200, 201])],
    ids=["conflicting", "identical"],
)
def test_provisions_at_once_configure_the_bucket_once(
    brokers: tuple[BrokerServer, BrokerServer], s3: Any, second: tuple[str, Any], expected: list[int]
) -> None:
    """A conflicting provision is refused; an identical one waits for the first and answers 200."""
    a, b = (server.osb() for server in brokers)
    for _ in range(RUNS):
        instance_id = new_id()
        answers = at_once(
            (a.provision, (instance_id, BASIC, {"versioning": True})), (b.provision, (instance_id, *second))
        )
        assert sorted(r.status_code for r in answers) == expected, [r.text for r in answers]
        assert bucket_matches_its_record(s3, instance_id)


def test_a_dead_provision_is_taken_over_with_every_setting_explicit(osb: OSBClient, s3: Any) -> None:
    instance_id = new_id()
    bucket = f"cf-s3-{instance_id}"
    # What a provision asking for a public, versioned bucket left when it died long ago:
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_cors(
        Bucket=bucket, CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]}
    )
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "s3-broker:provisioning", "Value": "0ld 1000"}]})
    response = osb.provision(instance_id)
    assert response.status_code == 201, response.text
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    with pytest.raises(ClientError):
        s3.get_bucket_cors(Bucket=bucket)
    assert bucket_matches_its_record(s3, instance_id)


def test_every_pair_of_operations_on_one_instance_and_binding(
    brokers: tuple[BrokerServer, BrokerServer], iam: Any, s3: Any
) -> None:
    """Provision, bind, unbind and deprovision, each pair at once from the two brokers: no 5xx, and
    afterwards every live binding user belongs to a live bucket and its keys work."""
    a, b = (server.osb() for server in brokers)
    operations: dict[str, Callable[[OSBClient, str, str], requests.Response]] = {
        "provision": lambda osb, i, _b: osb.provision(i),
        "bind": lambda osb, i, bid: osb.bind(i, bid),
        "unbind": lambda osb, i, bid: osb.unbind(i, bid),
        "deprovision": lambda osb, i, _b: osb.deprovision(i),
    }
    names = list(operations)
    pairs = [(x, y) for n, x in enumerate(names) for y in names[n:]]
    for first, second in pairs:
        for _ in range(3):
            instance_id, binding_id = new_id(), new_id()
            if "provision" not in (first, second):
                assert a.provision(instance_id).status_code == 201
            if "bind" not in (first, second) and "provision" not in (first, second):
                assert a.bind(instance_id, binding_id).status_code == 201
            answers = at_once(
                (operations[first], (a, instance_id, binding_id)),
                (operations[second], (b, instance_id, binding_id)),
            )
            where = f"{first} + {second}: {[(r.status_code, r.text[:120]) for r in answers]}"
            assert all(r.status_code < 500 for r in answers), where
            for answer in answers:
                if answer.status_code < 300 and "credentials" in answer.json():
                    bucket_alive = f"cf-s3-{instance_id}" in {x["Name"] for x in s3.list_buckets()["Buckets"]}
                    assert works(answer.json()["credentials"]) or not bucket_alive, where
            if user_exists(iam, binding_id):
                assert f"cf-s3-{instance_id}" in {x["Name"] for x in s3.list_buckets()["Buckets"]}, where


def test_a_bind_the_platform_gave_up_on_leaves_no_working_key(backend: Backend, iam: Any) -> None:
    """The Cloud Controller times out a bind and sends an unbind, which finds nothing (410); the bind
    must not then make a user or hand out a key. Its deadline ends it first, and nothing is left."""
    with BrokerServer(backend.settings(request_deadline=1.5)) as server:
        osb = server.osb()
        instance_id, binding_id = new_id(), new_id()
        assert osb.provision(instance_id).status_code == 201
        unbound = threading.Event()
        with hooked(server, "before-call.iam.CreateUser", waits_for(unbound)), ThreadPoolExecutor(1) as pool:
            binding = pool.submit(osb.bind, instance_id, binding_id)
            gave_up = osb.unbind(instance_id, binding_id)  # the platform's orphan mitigation
            assert gave_up.status_code == 410
            time.sleep(1.6)  # the bind's time runs out while AWS holds its CreateUser
            unbound.set()
            late = binding.result()
        assert late.status_code == 503, late.text
        assert late.json()["error"] == "DeadlineExceeded"
        assert not user_exists(iam, binding_id)

        # Held up after its key was made instead: the key is taken back, not handed out.
        binding_id = new_id()
        keyed = threading.Event()
        with hooked(server, "after-call.iam.CreateAccessKey", waits_for(keyed, 1.6)):
            late = osb.bind(instance_id, binding_id)
        assert late.status_code == 503, late.text
        assert keys_of(iam, binding_id) == set()


def test_in_us_east_1_conflicting_provisions_configure_the_bucket_once(backend: Backend, s3: Any) -> None:
    """CreateBucket answers 200 to every provision there: S3's conditional write of a claim object
    (If-None-Match: *) decides which one configures the bucket, and the claim is gone afterwards."""
    settings = backend.settings(aws_region="us-east-1")
    with BrokerServer(settings) as first, BrokerServer(settings) as second:
        a, b = first.osb(), second.osb()
        for _ in range(RUNS):
            instance_id = new_id()
            answers = at_once(
                (a.provision, (instance_id, BASIC, {"versioning": True})),
                (b.provision, (instance_id, BASIC_PUBLIC, None)),
            )
            assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
            assert bucket_matches_its_record(s3, instance_id)
            listed = s3.list_object_versions(Bucket=f"cf-s3-{instance_id}")
            assert not listed.get("Versions") and not listed.get("DeleteMarkers"), listed
