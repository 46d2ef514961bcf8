"""A hung or throttling AWS: faults injected at the AWS boundary with botocore hooks on the broker's clients."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, ReadTimeoutError

from broker import deadlines
from broker.aws.clients import AwsClients
from broker.settings import SettingsError, from_env
from testing.harness import Backend, BrokerServer, OSBClient, new_id

DEADLINE = 2.0


@pytest.fixture(scope="module")
def short_deadline_broker(backend: Backend) -> Iterator[BrokerServer]:
    with BrokerServer(backend.settings(request_deadline=DEADLINE, key_propagation_timeout=30.0)) as server:
        yield server


def clients_of(server: BrokerServer) -> AwsClients:
    return server.app.extensions["s3_broker.aws"]


class Hook:
    """A before-send hook on one operation, unregistered when the test ends."""

    def __init__(self, client: Any, operation: str, action: Any) -> None:
        self.client, self.operation, self.action = client, operation, action
        self.calls = 0

    def __call__(self, event_name: str, request: Any, **_: Any) -> Any:
        if event_name.rsplit(".", 1)[-1] != self.operation:
            return None
        self.calls += 1
        return self.action(self, request)

    def __enter__(self) -> Hook:
        # Registered on the generic event after the broker's own deadline check, so that check runs first.
        self.client.meta.events.register("before-send", self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.meta.events.unregister("before-send", self)


def hang(hook: Hook, request: Any) -> None:
    """AWS accepts the connection and answers nothing until the read timeout.

    The first attempt's timeout leaves part of the request's time, the second's outlasts it: so the
    broker retries inside its deadline and not past it, however late a loaded machine let it start.
    """
    left = deadlines.check("") or DEADLINE
    time.sleep(left * 0.6 if hook.calls == 1 else left + 0.2)
    raise ReadTimeoutError(endpoint_url=request.url)


class Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def throttle_twice(status: int, body: bytes) -> Any:
    def action(hook: Hook, request: Any) -> AWSResponse | None:
        if hook.calls > 2:
            return None  # the third attempt goes to AWS
        return AWSResponse(request.url, status, {"Content-Type": "text/xml"}, Raw(body))

    return action


def bucket_exists(s3: Any, instance_id: str) -> bool:
    try:
        s3.head_bucket(Bucket=f"cf-s3-{instance_id}")
        return True
    except ClientError:
        return False


def user_exists(iam: Any, binding_id: str) -> bool:
    try:
        iam.get_user(UserName=f"cf-s3-{binding_id}")
        return True
    except ClientError:
        return False


def test_a_hung_aws_call_answers_503_within_the_deadline_and_says_what_it_waited_on(
    short_deadline_broker: BrokerServer, s3: Any
) -> None:
    osb = short_deadline_broker.osb()
    instance = new_id()
    with Hook(clients_of(short_deadline_broker).s3, "PutBucketEncryption", hang) as hook:
        response = osb.provision(instance)
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["error"] == "DeadlineExceeded"
    assert "S3 PutBucketEncryption" in body["description"]
    assert f"{DEADLINE:g} seconds" in body["description"]
    assert hook.calls >= 2  # retried until the deadline, not past it
    # The half-made bucket was removed, though the request's own time was up.
    assert not bucket_exists(s3, instance)
    # The next request has a deadline of its own.
    assert osb.provision(instance).status_code == 201


def test_health_answers_while_a_request_waits_on_a_hung_aws(short_deadline_broker: BrokerServer) -> None:
    osb = short_deadline_broker.osb()
    answers: list[int] = []
    with Hook(clients_of(short_deadline_broker).s3, "PutBucketEncryption", hang):
        waiting = threading.Thread(target=lambda: answers.append(osb.provision(new_id()).status_code))
        waiting.start()
        health = requests.get(f"{short_deadline_broker.url}/health", timeout=5)
        waiting.join()
    assert health.status_code == 200
    assert answers == [503]


def test_s3_throttling_is_retried(broker: BrokerServer, s3: Any) -> None:
    # The default deadline: standard retry mode backs off up to a few seconds between attempts.
    osb = broker.osb()
    instance = new_id()
    slow_down = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
    with Hook(clients_of(broker).s3, "PutBucketTagging", throttle_twice(503, slow_down)) as hook:
        response = osb.provision(instance)
    assert response.status_code == 201, response.text
    assert hook.calls == 4  # two throttled attempts, then the provisioning marker, then the record
    assert bucket_exists(s3, instance)


def test_iam_throttling_is_retried(broker: BrokerServer, iam: Any) -> None:
    osb = broker.osb()
    instance, binding = new_id(), new_id()
    assert osb.provision(instance).status_code == 201
    throttling = (
        b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
        b"<Message>Rate exceeded</Message></Error></ErrorResponse>"
    )
    with Hook(clients_of(broker).iam, "CreateUser", throttle_twice(400, throttling)) as hook:
        response = osb.bind(instance, binding)
    assert response.status_code == 201, response.text
    assert hook.calls == 3
    assert user_exists(iam, binding)


@pytest.fixture
def black_hole() -> Iterator[str]:
    """An endpoint that accepts connections and never answers, as a hung S3 does."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()
    for connection in accepted:
        connection.close()


def test_the_key_probe_respects_the_deadline(short_deadline_broker: BrokerServer, black_hole: str, iam: Any) -> None:
    osb: OSBClient = short_deadline_broker.osb()
    instance, binding = new_id(), new_id()
    assert osb.provision(instance).status_code == 201
    probe = short_deadline_broker.app.extensions["s3_broker.probe"]
    endpoint, probe.endpoint_url = probe.endpoint_url, black_hole
    try:
        response = osb.bind(instance, binding)
    finally:
        probe.endpoint_url = endpoint
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "DeadlineExceeded"
    assert "accept the new access key" in response.json()["description"]
    assert not user_exists(iam, binding)  # the key and its user were removed


def test_request_deadline_is_a_setting_within_the_cloud_controllers_minute() -> None:
    base = {"BROKER_USERNAME": "u", "BROKER_PASSWORD": "p"}
    assert from_env(base).request_deadline == 30.0
    assert from_env({**base, "REQUEST_DEADLINE": "12.5"}).request_deadline == 12.5
    for wrong in ("0", "-1", "55", "soon", "nan"):
        with pytest.raises(SettingsError, match="REQUEST_DEADLINE"):
            from_env({**base, "REQUEST_DEADLINE": wrong})
