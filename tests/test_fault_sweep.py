"""Each AWS call of each operation made to fail in turn, then the request repeated as the Cloud Controller would.

The calls an operation makes are first recorded in a clean run; then, for each, every attempt of
that call is refused (AccessDenied, which boto3 does not retry). The failed request must leave AWS
holding nothing or the complete result, and the repeated request must succeed completely.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError

from broker.aws import AwsClients
from tests.harness import REGION, BrokerServer, OSBClient, new_id

DENIED = {
    "s3": b"<Error><Code>AccessDenied</Code><Message>injected</Message></Error>",
    "iam": b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>injected</Message></Error>"
    b"</ErrorResponse>",
}


class Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


@contextmanager
def aws_calls(clients: AwsClients, fail: str | None = None) -> Iterator[list[str]]:
    """Record the broker's AWS calls as service.Operation; refuse every attempt of `fail`."""
    seen: list[str] = []

    def hook(event_name: str, request: Any, **_: Any) -> AWSResponse | None:
        service, operation = event_name.split(".")[1:3]
        call = f"{service}.{operation}"
        seen.append(call)
        if call == fail:
            return AWSResponse(request.url, 403, {"Content-Type": "text/xml"}, Raw(DENIED[service]))
        return None

    for client in (clients.s3, clients.iam):
        client.meta.events.register("before-send", hook)
    try:
        yield seen
    finally:
        for client in (clients.s3, clients.iam):
            client.meta.events.unregister("before-send", hook)


def bucket_state(s3: Any, instance: str) -> str:
    try:
        tags = s3.get_bucket_tagging(Bucket=f"cf-s3-{instance}")["TagSet"]
    except ClientError as error:
        return "none" if error.response["Error"]["Code"] == "NoSuchBucket" else "partial"
    return "complete" if any(tag["Key"] == "s3-broker:instance-id" for tag in tags) else "partial"


def user_state(iam: Any, binding: str) -> str:
    name = f"cf-s3-{binding}"
    try:
        iam.get_user(UserName=name)
    except ClientError:
        return "none"
    keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    policies = iam.list_user_policies(UserName=name)["PolicyNames"]
    return "complete" if len(keys) == 1 and policies else "partial"


def key_works(credentials: dict[str, Any], s3_endpoint: str) -> bool:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=REGION,
        aws_access_key_id=credentials["access_key_id"],
        aws_secret_access_key=credentials["secret_access_key"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    client.list_objects_v2(Bucket=credentials["bucket"])
    return True


Operation = Callable[[OSBClient, str, str], Any]

OPERATIONS: dict[str, tuple[Operation, int, bool, bool]] = {
    # name: (request, status when repeated, instance made first, binding made first)
    "provision": (lambda osb, i, b: osb.provision(i), 201, False, False),
    "update": (lambda osb, i, b: osb.update(i, parameters={"versioning": True}), 200, True, False),
    "bind": (lambda osb, i, b: osb.bind(i, b), 201, True, False),
    "unbind": (lambda osb, i, b: osb.unbind(i, b), 200, True, True),
    "deprovision": (lambda osb, i, b: osb.deprovision(i), 200, True, False),
}


def calls_of(broker: BrokerServer, name: str) -> list[str]:
    request, status, needs_instance, needs_binding = OPERATIONS[name]
    osb, instance, binding = broker.osb(), new_id(), new_id()
    if needs_instance:
        assert osb.provision(instance).status_code == 201
    if needs_binding:
        assert osb.bind(instance, binding).status_code == 201
    with aws_calls(broker.app.extensions["s3_broker.aws"]) as seen:
        assert request(osb, instance, binding).status_code == status
    return sorted(set(seen))


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_each_aws_call_failing_leaves_nothing_half_made_and_a_repeat_succeeds(
    broker: BrokerServer, s3: Any, iam: Any, name: str
) -> None:
    request, status, needs_instance, needs_binding = OPERATIONS[name]
    clients = broker.app.extensions["s3_broker.aws"]
    calls = calls_of(broker, name)
    assert calls, f"{name} made no AWS call"
    for call in calls:
        osb, instance, binding = broker.osb(), new_id(), new_id()
        if needs_instance:
            assert osb.provision(instance).status_code == 201
        if needs_binding:
            assert osb.bind(instance, binding).status_code == 201
        with aws_calls(clients, fail=call):
            failed = request(osb, instance, binding)
        assert failed.status_code >= 400, f"{name} with {call} refused answered {failed.status_code}"
        assert set(failed.json()) == {"error", "description"}, failed.text
        if name == "provision":
            assert bucket_state(s3, instance) in ("none", "complete"), call
        if name == "bind":
            assert user_state(iam, binding) in ("none", "complete"), call
        repeated = request(osb, instance, binding)
        assert repeated.status_code == status, f"{name} repeated after {call} failed: {repeated.text}"
        if name == "provision":
            assert bucket_state(s3, instance) == "complete"
        if name == "bind":
            assert user_state(iam, binding) == "complete"
            assert key_works(repeated.json()["credentials"], broker.settings.s3_endpoint)
        if name == "unbind":
            assert user_state(iam, binding) == "none"
        if name == "deprovision":
            assert bucket_state(s3, instance) == "none"
