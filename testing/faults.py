"""AWS faults at the broker's boundary: botocore event hooks on the broker's own boto3 clients.

Nothing of the broker is replaced: its AWS calls are made as always, and a hook fails, delays
or holds back the ones a test picks, as a real AWS would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, ReadTimeoutError

from testing.harness import BrokerServer

SERVICES = ("s3", "iam")


def clients(server: BrokerServer) -> list[Any]:
    aws = server.app.extensions["s3_broker.aws"]
    return [getattr(aws, service) for service in SERVICES]


def aws_error(code: str, operation: str, status: int = 500) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation
    )


class _Raw:
    """Just enough of a urllib3 response for botocore to read an error body."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, *_: Any, **__: Any) -> Iterator[bytes]:
        yield self.body


def throttled_response(service: str) -> AWSResponse:
    code = "SlowDown" if service == "s3" else "Throttling"
    body = f"<ErrorResponse><Error><Code>{code}</Code><Message>injected</Message></Error></ErrorResponse>"
    if service == "s3":
        body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>"
    return AWSResponse("https://injected", 503 if service == "s3" else 400, {}, _Raw(body.encode()))


FAULT_KINDS = ("error", "timeout", "lost-response", "throttle")


class CallCounter:
    """Counts the broker's AWS calls (by operation name) and makes call number `fail_at` fail.

    error: AWS answers 500 InternalError; timeout: the call times out before AWS acts;
    lost-response: AWS acts but the answer never arrives; throttle: AWS throttles the first
    attempt (botocore's retries should carry the call through).
    """

    def __init__(self, fail_at: int | None = None, fault: str = "error") -> None:
        self.calls: list[str] = []
        self.fail_at = fail_at
        self.fault = fault
        self.lock = threading.Lock()
        self.throttle_next = threading.local()
        self.lost = threading.local()

    def before_call(self, model: Any, **_: Any) -> None:
        with self.lock:
            self.calls.append(model.name)
            number = len(self.calls)
        if number != self.fail_at:
            return
        if self.fault == "error":
            raise aws_error("InternalError", model.name)
        if self.fault == "timeout":
            raise ReadTimeoutError(endpoint_url="injected")
        if self.fault == "lost-response":
            self.lost.number = number
            return
        self.throttle_next.service = model.metadata["endpointPrefix"]

    def after_call(self, model: Any, **_: Any) -> None:
        if self.fault == "lost-response" and getattr(self.lost, "number", None) is not None:
            self.lost.number = None
            raise ReadTimeoutError(endpoint_url="injected")

    def before_send(self, **_: Any) -> AWSResponse | None:
        service = getattr(self.throttle_next, "service", None)
        if service is None:
            return None
        self.throttle_next.service = None
        return throttled_response(service)


@contextmanager
def counting(server: BrokerServer, counter: CallCounter) -> Iterator[CallCounter]:
    hooks = []
    for client in clients(server):
        prefix = client.meta.service_model.endpoint_prefix
        hooks += [
            (client, f"before-call.{prefix}", counter.before_call),
            (client, f"before-send.{prefix}", counter.before_send),
        ]
    for client, event, handler in hooks:
        client.meta.events.register(event, handler, unique_id=f"{event}-{id(counter)}")
    try:
        yield counter
    finally:
        for client, event, _handler in hooks:
            client.meta.events.unregister(event, unique_id=f"{event}-{id(counter)}")


@contextmanager
def hooked(server: BrokerServer, event: str, handler: Callable[..., Any]) -> Iterator[None]:
    """Run `handler` on a botocore event of the broker's clients, e.g. 'before-call.iam.CreateAccessKey'."""
    targets = [c for c in clients(server) if event.split(".")[1] == c.meta.service_model.endpoint_prefix]
    for client in targets:
        client.meta.events.register(event, handler, unique_id=f"hook-{id(handler)}")
    try:
        yield
    finally:
        for client in targets:
            client.meta.events.unregister(event, unique_id=f"hook-{id(handler)}")


def waits_for(event: threading.Event, timeout: float = 10) -> Callable[..., None]:
    """A hook that holds the call back until `event` is set (a hook must return None to let it go on)."""

    def hold(**_: Any) -> None:
        event.wait(timeout)

    return hold


def sets(event: threading.Event) -> Callable[..., None]:
    def signal(**_: Any) -> None:
        event.set()

    return signal
