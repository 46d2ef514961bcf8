"""Counting the AWS calls a process makes, with botocore's own event hooks.

Every botocore client copies its session's event handlers when it is made, so a handler registered
on a session sees every call of every client made from it afterwards: the broker's S3 and IAM
clients. This is measurement only: the handlers return None, so botocore sends every request as
it would without them.

The one call botocore does not make is the probe of a new binding key: the broker signs that
ListObjectsV2 itself and sends it through urllib3 (broker/aws/probe.py). It is counted by wrapping
the probe's one method for as long as the bench runs the broker; the wrapper passes arguments,
result and errors through unchanged.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import botocore.session

from broker.aws.probe import KeyProbe

# The access key id in a SigV4 Authorization header: "Credential=AKID/date/region/service/...".
CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


@dataclass
class AwsCall:
    """One HTTP request botocore sent (a retry is another call)."""

    service: str
    operation: str
    access_key_id: str
    outcome: str = "sent"  # "ok", an AWS error code, or the exception's name

    def label(self, own_key: str | None) -> str:
        """`Operation`, with the error code if it failed and a mark if another key signed it."""
        text = self.operation
        if self.outcome not in ("ok", "sent"):
            text += f"!{self.outcome}"
        if own_key is not None and self.access_key_id != own_key:
            text += "[new key]"
        return text


class AwsCallRecorder:
    """Keeps every AWS call made by the clients of the sessions it is attached to, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[AwsCall] = []
        # botocore sends and parses a call in one thread, so the thread finds its last call.
        self._last = threading.local()
        self.sessions_attached = 0

    def attach(self, events: Any) -> None:
        """Register on a botocore event emitter (a session's `.events` or a client's `.meta.events`)."""
        events.register("before-send", self._on_send, unique_id="bench-aws-calls-send")
        events.register("after-call", self._on_result, unique_id="bench-aws-calls-result")
        events.register("after-call-error", self._on_error, unique_id="bench-aws-calls-error")
        self.sessions_attached += 1

    def record(self, service: str, operation: str, access_key_id: str, outcome: str) -> None:
        """For the one request signed by hand, not by botocore (the key probe); everything else is hooked."""
        with self._lock:
            self._calls.append(AwsCall(service, operation, access_key_id, outcome))

    def mark(self) -> int:
        with self._lock:
            return len(self._calls)

    def since(self, mark: int) -> list[AwsCall]:
        with self._lock:
            return list(self._calls[mark:])

    def _on_send(self, request: Any, event_name: str, **_: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        call = AwsCall(service, operation, signing_key(request.headers.get("Authorization")))
        self._last.call = call
        with self._lock:
            self._calls.append(call)

    def _on_result(self, http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
        call: AwsCall | None = getattr(self._last, "call", None)
        if call is not None:
            call.outcome = "ok" if http_response.status_code < 300 else parsed.get("Error", {}).get("Code", "error")

    def _on_error(self, exception: BaseException, **_: Any) -> None:
        call: AwsCall | None = getattr(self._last, "call", None)
        if call is not None:
            call.outcome = type(exception).__name__


def signing_key(authorization: str | bytes | None) -> str:
    if isinstance(authorization, bytes):
        authorization = authorization.decode()
    match = CREDENTIAL.search(authorization or "")
    return match.group(1) if match else "unsigned"


@contextmanager
def recording_new_sessions(recorder: AwsCallRecorder) -> Iterator[None]:
    """While inside, every botocore Session made (the broker's, in create_app) gets the recorder attached.

    botocore.session.get_session, which the broker and boto3 alike call, makes the module's
    `Session`: that name is swapped, and put back on the way out, so only the sessions made while
    building the app are instrumented.
    """
    original = botocore.session.Session

    class RecordedSession(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            recorder.attach(self.get_component("event_emitter"))

    botocore.session.Session = RecordedSession  # type: ignore[misc]
    try:
        yield
    finally:
        botocore.session.Session = original  # type: ignore[misc]


@contextmanager
def recording_key_probes(recorder: AwsCallRecorder) -> Iterator[None]:
    """While inside, every probe of a new key the broker makes is recorded."""
    original = KeyProbe.refusal

    @functools.wraps(original)
    def refusal(self: Any, access_key_id: str, *args: Any, **kwargs: Any) -> str | None:
        try:
            code = original(self, access_key_id, *args, **kwargs)
        except BaseException as error:
            recorder.record("s3", "ListObjectsV2", access_key_id, type(error).__name__)
            raise
        recorder.record("s3", "ListObjectsV2", access_key_id, code or "ok")
        return code

    KeyProbe.refusal = refusal  # type: ignore[method-assign]
    try:
        yield
    finally:
        KeyProbe.refusal = original  # type: ignore[method-assign]
