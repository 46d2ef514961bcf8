"""When undoing a failed request fails too, the client hears the first error and the operator reads the second.

The fault: a broker identity whose policy lacks both the action a step needs and the action its
cleanup needs, so both fail under moto's IAM enforcement.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from testing.harness import Backend, BrokerServer, new_id


@pytest.fixture(scope="module")
def crippled_broker(backend: Backend) -> Iterator[BrokerServer]:
    drop = {"iam:PutUserPolicy", "iam:DeleteUser", "s3:PutBucketTagging", "s3:DeleteBucket"}
    identity = backend.restricted_broker(f"broker-no-cleanup-{new_id()[:8]}", drop)
    with BrokerServer(backend.settings(identity)) as server:
        yield server


def test_a_failed_bind_whose_cleanup_fails_reports_the_bind_failure(
    backend: Backend, crippled_broker: BrokerServer, iam: Any, caplog: pytest.LogCaptureFixture
) -> None:
    osb = crippled_broker.osb()
    instance, binding = new_id(), new_id()
    # The instance is made by the full broker: this one may not tag buckets.
    with BrokerServer(backend.settings()) as full:
        assert full.osb().provision(instance).status_code == 201
    with caplog.at_level(logging.ERROR, logger="broker"):
        response = osb.bind(instance, binding)
    assert response.status_code == 502, response.text
    assert "set the policy of IAM user" in response.json()["description"]
    assert "delete IAM user" not in response.json()["description"]
    assert f"could not roll back IAM user cf-s3-{binding}" in caplog.text
    # What the cleanup left behind is what the log names.
    iam.delete_user(UserName=f"cf-s3-{binding}")


def test_a_failed_provision_whose_cleanup_fails_reports_the_provision_failure(
    crippled_broker: BrokerServer, s3: Any, caplog: pytest.LogCaptureFixture
) -> None:
    osb = crippled_broker.osb()
    instance = new_id()
    with caplog.at_level(logging.ERROR, logger="broker"):
        response = osb.provision(instance)
    assert response.status_code == 502, response.text
    assert "tag bucket" in response.json()["description"]
    assert f"could not remove bucket cf-s3-{instance}" in caplog.text
    s3.delete_bucket(Bucket=f"cf-s3-{instance}")
