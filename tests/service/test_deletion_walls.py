"""A bucket under asynchronous deletion takes no more writes, from any key: the deletion finishes.

A key of another instance may reach the bucket (additional_instances); its user lives under that
other instance, so the deletion's sweep of the instance's users does not find it. Writing on, it
would keep the bucket from ever emptying, so the deletion's first step puts a bucket policy that
denies every write to everyone (the broker itself only deletes). Run against the local S3 with
real keys: the Deny has no condition, which the local backend enforces as AWS does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from testing.buckets import versioned_bucket_with_leftovers
from testing.clients import refused, s3_with
from testing.harness import BASIC, ORG, SERVICE_ID, Backend, BrokerServer, OSBClient, new_id


@pytest.fixture(scope="module")
def small_broker(backend: Backend) -> Iterator[BrokerServer]:
    with BrokerServer(backend.settings(deprovision_sync_max_objects=3)) as server:
        yield server


@pytest.fixture
def osb(small_broker: BrokerServer) -> OSBClient:
    return small_broker.osb()


def test_a_key_of_another_instance_cannot_write_to_a_bucket_being_deleted(osb: OSBClient, s3: Any) -> None:
    doomed = versioned_bucket_with_leftovers(osb, s3, files=6)
    other = new_id()
    assert osb.provision(other).status_code == 201
    response = osb.bind(other, new_id(), {"additional_instances": [doomed]})
    assert response.status_code == 201, response.text
    credentials = response.json()["credentials"]
    key = s3_with(credentials)
    doomed_bucket = f"cf-s3-{doomed}"
    key.put_object(Bucket=doomed_bucket, Key="before", Body=b"x")

    params = {"service_id": SERVICE_ID, "plan_id": BASIC, "accepts_incomplete": "true"}
    assert osb.request("DELETE", f"/v2/service_instances/{doomed}", params=params).status_code == 202
    assert refused(key.put_object, Bucket=doomed_bucket, Key="after", Body=b"x") == "AccessDenied"
    assert refused(key.create_multipart_upload, Bucket=doomed_bucket, Key="upload") == "AccessDenied"
    key.put_object(Bucket=credentials["bucket"], Key="own", Body=b"x")  # its own bucket as before

    last = {"service_id": SERVICE_ID, "plan_id": BASIC, "operation": "deprovision"}
    for _ in range(30):
        polled = osb.request("GET", f"/v2/service_instances/{doomed}/last_operation", params=last)
        if polled.json()["state"] != "in progress":
            break
    assert polled.json()["state"] == "succeeded", polled.text
    assert doomed_bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert ORG  # the two instances share the tests' org, as additional_instances requires
