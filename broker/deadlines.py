"""A deadline per request, so the broker answers well inside the Cloud Controller's 60 seconds.

The deadline lives in a context variable set when a request starts. Every AWS call checks it
before each attempt (retries included) through a botocore `before-send` hook, the key probe
checks it before each probe, and work handed to the AWS thread pool carries it along. When it
has passed, the request fails with 503 and says what the broker was waiting on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from broker.errors import UpstreamUnavailable

# After a failure, undoing what the request made must still be possible even if the deadline is
# what failed it: cleanup gets this many seconds of its own.
CLEANUP_SECONDS = 8.0
# Longer than any request can run: the Cloud Controller gives up after 60 s (REQUEST_DEADLINE is at
# most 50), with room for clock skew. A key or a provisioning mark younger than this may belong to
# a request still answering; gunicorn gives a worker this long before it kills a stuck one.
LONGER_THAN_ANY_REQUEST = 120.0


class DeadlineExceeded(UpstreamUnavailable):
    error = "DeadlineExceeded"


@dataclass(frozen=True)
class Deadline:
    at: float  # time.monotonic() value
    seconds: float  # the budget, to say in messages

    def left(self) -> float:
        return self.at - time.monotonic()


_current: ContextVar[Deadline | None] = ContextVar("request_deadline", default=None)


def start(seconds: float) -> Token[Deadline | None]:
    """Give the current request `seconds` from now; reset with the token when it ends."""
    return _current.set(Deadline(time.monotonic() + seconds, seconds))


def reset(token: Token[Deadline | None]) -> None:
    _current.reset(token)


def check(doing: str) -> float | None:
    """Raise DeadlineExceeded if the request's time is up; otherwise return the seconds left."""
    deadline = _current.get()
    if deadline is None:
        return None
    left = deadline.left()
    if left <= 0:
        raise DeadlineExceeded(
            f"AWS did not answer in time: the broker gave up after {deadline.seconds:g} seconds "
            f"while {doing}. Try again in a minute."
        )
    return left


@contextmanager
def cleanup_time(seconds: float = CLEANUP_SECONDS) -> Iterator[None]:
    """Run the block under a short deadline of its own (for undoing a failed request's work)."""
    token = _current.set(Deadline(time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _current.reset(token)


def before_send(event_name: str = "", **_: Any) -> None:
    """botocore hook: refuse to send another attempt once the request's deadline has passed."""
    # The event is named before-send.<service>.<Operation>, e.g. before-send.s3.PutBucketTagging.
    _, _, call = event_name.partition(".")
    service, _, operation = call.partition(".")
    check(f"calling {service.upper()} {operation}")


def guard(client: Any) -> Any:
    """Make every attempt of every call of a boto3 client check the request's deadline."""
    client.meta.events.register("before-send", before_send)
    return client
