"""Request bodies: capped in size and in time, read in full before the app looks at them.

No OSB request comes near 1 MB, so a bigger declared body is refused (413) without reading a
byte of it, and a chunked one is refused once it passes the cap. A client that sends its body
slowly gets 408 when the body deadline passes instead of holding the connection's worker for
as long as it likes. Under the gevent worker (the Procfile's) the deadline covers the whole body;
under other servers each read waits at most that long.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

MAX_BODY_BYTES = 1024 * 1024
READ_SIZE = 64 * 1024

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


class BodyTooLarge(Exception):
    pass


class BodyTooSlow(Exception):
    pass


def _gevent_deadline(seconds: float) -> Any:
    """A deadline over the whole read when this worker runs on gevent; none otherwise."""
    try:
        from gevent import Timeout, monkey
    except ImportError:
        return nullcontext()
    return Timeout(seconds, BodyTooSlow) if monkey.is_module_patched("socket") else nullcontext()


@contextmanager
def _socket_timeout(environ: Environ, seconds: float) -> Iterator[None]:
    """Bound each read on gunicorn's client socket, so a client that stops sending is dropped."""
    sock = environ.get("gunicorn.socket")
    if sock is None:
        yield
        return
    previous = sock.gettimeout()
    sock.settimeout(seconds)
    try:
        yield
    finally:
        sock.settimeout(previous)


def read_body(environ: Environ, length: int | None, max_bytes: int, seconds: float) -> bytes:
    """Read a body of `length` bytes (None: until the end of a chunked body), at most `max_bytes`."""
    stream = environ["wsgi.input"]
    parts: list[bytes] = []
    size = 0
    try:
        with _gevent_deadline(seconds), _socket_timeout(environ, seconds):
            while length is None or size < length:
                want = READ_SIZE if length is None else min(READ_SIZE, length - size)
                part = stream.read(min(want, max_bytes + 1 - size))
                if not part:
                    break
                parts.append(part)
                size += len(part)
                if size > max_bytes:
                    raise BodyTooLarge
    except TimeoutError:
        raise BodyTooSlow from None
    return b"".join(parts)


def _refuse(start_response: StartResponse, status: str, error: str, description: str) -> Iterable[bytes]:
    body = json.dumps({"error": error, "description": description}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class BodyLimits:
    """WSGI middleware: the body is read here, within the limits, and handed on in memory."""

    def __init__(
        self,
        app: Callable[[Environ, StartResponse], Iterable[bytes]],
        seconds: float,  # the body deadline (BODY_DEADLINE)
        max_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.seconds = seconds

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        declared = environ.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not declared and not chunked:
            return self.app(environ, start_response)
        length = None
        if declared:
            if not declared.isdigit():
                return _refuse(start_response, "400 Bad Request", "BadRequest", "Content-Length must be a number.")
            length = int(declared)
        too_large = (
            "413 Content Too Large",
            "ContentTooLarge",
            f"The request body is over {self.max_bytes // 1024} KB; no OSB request needs that much.",
        )
        if length is not None and length > self.max_bytes:
            return _refuse(start_response, *too_large)
        try:
            body = read_body(environ, length, self.max_bytes, self.seconds)
        except BodyTooLarge:
            return _refuse(start_response, *too_large)
        except BodyTooSlow:
            return _refuse(
                start_response,
                "408 Request Timeout",
                "RequestTimeout",
                f"The request body did not arrive within {self.seconds:g} seconds.",
            )
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)
