"""Deprovisioning a bucket too big to empty within a request: 202, S3 lifecycle rules that expire
everything, and last_operation (from any broker process) deleting the bucket once it is empty.

The broker here empties at most 3 objects within a request (DEPROVISION_SYNC_MAX_OBJECTS), so a
bucket of a dozen objects is "big"."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from broker.model import s3_configuration
from testing.buckets import versioned_bucket_with_leftovers
from testing.clients import user_exists
from testing.faults import hooked, waits_for
from testing.harness import BASIC, SERVICE_ID, Backend, BrokerServer, OSBClient, new_id

SMALL = 3


@pytest.fixture(scope="module")
def small_broker(backend: Backend) -> Iterator[BrokerServer]:
    with BrokerServer(backend.settings(deprovision_sync_max_objects=SMALL)) as server:
        yield server


@pytest.fixture
def osb(small_broker: BrokerServer) -> OSBClient:
    return small_broker.osb()


def bucket(instance_id: str) -> str:
    return f"cf-s3-{instance_id}"


def delete(osb: OSBClient, instance_id: str, *, accepts_incomplete: bool) -> Any:
    params = {"service_id": SERVICE_ID, "plan_id": BASIC}
    if accepts_incomplete:
        params["accepts_incomplete"] = "true"
    return osb.request("DELETE", f"/v2/service_instances/{instance_id}", params=params)


def last_operation(osb: OSBClient, instance_id: str) -> Any:
    params = {"service_id": SERVICE_ID, "plan_id": BASIC, "operation": "deprovision"}
    return osb.request("GET", f"/v2/service_instances/{instance_id}/last_operation", params=params)


def exists(s3: Any, name: str) -> bool:
    try:
        s3.head_bucket(Bucket=name)
        return True
    except ClientError:
        return False


def big_bucket(osb: OSBClient, s3: Any) -> str:
    """A versioned bucket that lets the broker delete its objects, holding versions, delete markers
    and an unfinished multipart upload: more than SMALL of them."""
    return versioned_bucket_with_leftovers(osb, s3, files=6)


def test_big_bucket_without_accepts_incomplete_is_422_async_required_and_untouched(osb: OSBClient, s3: Any) -> None:
    instance = big_bucket(osb, s3)
    name = bucket(instance)
    before = s3.list_object_versions(Bucket=name)
    response = delete(osb, instance, accepts_incomplete=False)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "AsyncRequired"
    assert "accepts_incomplete=true" in body["description"]
    after = s3.list_object_versions(Bucket=name)
    assert len(after["Versions"]) == len(before["Versions"]) == 12
    assert "s3-broker:deleting" not in {t["Key"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    assert osb.get_instance(instance).status_code == 200


def test_big_bucket_is_emptied_by_s3_and_deleted_by_last_operation_of_another_broker(
    backend: Backend, osb: OSBClient, s3: Any, iam: Any
) -> None:
    instance = big_bucket(osb, s3)
    name = bucket(instance)
    binding = new_id()
    assert osb.bind(instance, binding).status_code == 201

    response = delete(osb, instance, accepts_incomplete=True)
    assert response.status_code == 202, response.text
    assert response.json() == {"operation": "deprovision"}
    # S3 is told to expire everything: current and noncurrent versions, uploads, delete markers.
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]}
    empty = rules[s3_configuration.EMPTY_RULE]
    assert empty["Expiration"] == {"Days": 1}
    assert empty["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
    assert empty["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert rules[s3_configuration.EMPTY_MARKERS_RULE]["Expiration"] == {"ExpiredObjectDeleteMarker": True}
    tag_keys = {t["Key"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    assert "s3-broker:deleting" in tag_keys
    # The keys go at once; the instance is no longer there for the platform to use.
    with pytest.raises(ClientError):
        iam.get_user(UserName=f"cf-s3-{binding}")
    assert osb.get_instance(instance).status_code == 404
    again = osb.provision(instance, BASIC, {"versioning": True, "delete_objects_with_service": True})
    assert again.status_code == 422 and again.json()["error"] == "ConcurrencyError"
    # A repeated deprovision while S3 empties it is another 202.
    assert delete(osb, instance, accepts_incomplete=True).status_code == 202

    # Another broker process (no shared state but AWS) polls; each poll deletes a bounded batch.
    with BrokerServer(backend.settings(deprovision_sync_max_objects=SMALL)) as other:
        poller = other.osb()
        states = []
        for _ in range(20):  # 13 versions and markers, 3 a poll, one upload
            polled = last_operation(poller, instance)
            assert polled.status_code == 200, polled.text
            states.append(polled.json()["state"])
            if states[-1] != "in progress":
                break
        assert states[-1] == "succeeded", states
        assert "in progress" in states  # it took several polls, each a bounded step
        assert not exists(s3, name)
        gone = last_operation(poller, instance)
        assert gone.status_code == 410, gone.text
        assert gone.json()["error"] == "Gone"
    assert delete(osb, instance, accepts_incomplete=True).status_code == 410


def test_small_bucket_still_goes_synchronously(osb: OSBClient, s3: Any) -> None:
    instance = new_id()
    assert osb.provision(instance, BASIC, {"delete_objects_with_service": True}).status_code == 201
    for n in range(SMALL):
        s3.put_object(Bucket=bucket(instance), Key=f"k{n}", Body=b"x")
    response = delete(osb, instance, accepts_incomplete=True)
    assert response.status_code == 200, response.text
    assert not exists(s3, bucket(instance))


def test_big_bucket_without_delete_objects_is_still_guarded(osb: OSBClient, s3: Any) -> None:
    instance = new_id()
    assert osb.provision(instance).status_code == 201
    for n in range(SMALL + 2):
        s3.put_object(Bucket=bucket(instance), Key=f"k{n}", Body=b"x")
    response = delete(osb, instance, accepts_incomplete=True)
    assert response.status_code == 422
    assert response.json()["error"] == "BucketNotEmpty"
    assert exists(s3, bucket(instance))


def test_last_operation_of_a_deprovision_that_never_began_is_failed(osb: OSBClient) -> None:
    instance = new_id()
    assert osb.provision(instance).status_code == 201
    polled = last_operation(osb, instance)
    assert polled.status_code == 200
    assert polled.json()["state"] == "failed"
    assert "deprovision the instance again" in polled.json()["description"]


@pytest.fixture(scope="module")
def other_broker(backend: Backend) -> Iterator[BrokerServer]:
    """A second broker process on the same backend, to race the first."""
    with BrokerServer(backend.settings(deprovision_sync_max_objects=SMALL)) as server:
        yield server


def refused_as_being_deleted(response: Any) -> bool:
    body = response.json()
    return (
        response.status_code == 422 and body["error"] == "ConcurrencyError" and "being deleted" in body["description"]
    )


def emptying(s3: Any, name: str) -> bool:
    """The bucket still carries the deleting mark and the lifecycle rules that expire everything."""
    tags = {t["Key"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    rules = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
    return "s3-broker:deleting" in tags and rules == s3_configuration.emptying_rules()


def finish_deletion(osb: OSBClient, instance: str) -> None:
    for _ in range(20):
        polled = last_operation(osb, instance)
        if polled.status_code == 410 or polled.json()["state"] != "in progress":
            return


def test_update_and_bind_of_a_bucket_being_deleted_are_422_being_deleted(osb: OSBClient, s3: Any) -> None:
    instance = big_bucket(osb, s3)
    assert delete(osb, instance, accepts_incomplete=True).status_code == 202
    updated = osb.update(instance, parameters={"versioning": False})
    assert refused_as_being_deleted(updated), updated.text
    binding = new_id()
    bound = osb.bind(instance, binding)
    assert refused_as_being_deleted(bound), bound.text
    assert emptying(s3, bucket(instance))
    assert osb.get_instance(instance).status_code == 404  # the spec's GET knows only 200 and 404
    finish_deletion(osb, instance)
    assert osb.update(instance, parameters={"versioning": False}).status_code == 404


def test_an_update_racing_an_asynchronous_deletion_keeps_the_bucket_being_deleted(
    small_broker: BrokerServer, other_broker: BrokerServer, s3: Any
) -> None:
    """The update has read the live instance; the other broker starts the deletion before it writes."""
    osb = small_broker.osb()
    instance = big_bucket(osb, s3)
    started = threading.Event()
    with (
        hooked(small_broker, "before-call.s3.PutBucketLifecycleConfiguration", waits_for(started)),
        ThreadPoolExecutor(1) as pool,
    ):
        update = pool.submit(osb.update, instance, None, {"lifecycle": {"expire_after_days": 30}})
        deleting = delete(other_broker.osb(), instance, accepts_incomplete=True)
        assert deleting.status_code == 202, deleting.text
        started.set()
        updated = update.result()
    assert refused_as_being_deleted(updated), updated.text
    assert emptying(s3, bucket(instance))
    finish_deletion(osb, instance)
    assert not exists(s3, bucket(instance))


def test_a_bind_racing_an_asynchronous_deletion_gets_no_key_and_leaves_no_user(
    small_broker: BrokerServer, other_broker: BrokerServer, s3: Any, iam: Any
) -> None:
    """The bind has read the live instance; the other broker's deletion sweeps the users before it makes its own."""
    osb = small_broker.osb()
    instance, binding = big_bucket(osb, s3), new_id()
    started = threading.Event()
    with hooked(small_broker, "before-call.iam.CreateUser", waits_for(started)), ThreadPoolExecutor(1) as pool:
        bind = pool.submit(osb.bind, instance, binding)
        deleting = delete(other_broker.osb(), instance, accepts_incomplete=True)
        assert deleting.status_code == 202, deleting.text
        started.set()
        bound = bind.result()
    assert refused_as_being_deleted(bound), bound.text
    assert not user_exists(iam, binding)
    assert emptying(s3, bucket(instance))


def test_every_poll_sweeps_the_binding_users_of_a_bucket_being_deleted(
    backend: Backend, osb: OSBClient, s3: Any, iam: Any
) -> None:
    """A user the deprovision's sweep could not see (a racing bind, IAM's listing lagging) goes at the next poll."""
    instance = big_bucket(osb, s3)
    assert delete(osb, instance, accepts_incomplete=True).status_code == 202
    late = new_id()
    iam.create_user(UserName=f"cf-s3-{late}", Path=backend.settings().user_path(instance))
    polled = last_operation(osb, instance)
    assert polled.json()["state"] == "in progress", polled.text
    assert not user_exists(iam, late)
