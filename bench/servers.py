"""The HTTP servers the bench talks to in its own process: the broker, instrumented, and a bare WSGI floor."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import requests
from werkzeug.serving import make_server

from bench.awscalls import AwsCallRecorder, recording_key_probes, recording_new_sessions
from testing.harness import Backend, BrokerServer


class UnexpectedResponse(RuntimeError):
    """The broker answered something other than success: the figures would be meaningless."""


def expect(response: requests.Response, *statuses: int) -> requests.Response:
    if response.status_code not in statuses:
        raise UnexpectedResponse(
            f"{response.request.method} {response.request.path_url} -> {response.status_code}: {response.text[:500]}"
        )
    return response


def quiet_request_logs() -> None:
    """werkzeug logs every request at INFO; hundreds of lines would bury the report."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


@contextmanager
def instrumented_broker(backend: Backend, recorder: AwsCallRecorder) -> Iterator[BrokerServer]:
    """The broker app serving on loopback, its botocore session and key probe reporting every AWS call to `recorder`.

    Log level WARNING: the per-request INFO line would interleave with the bench's output.
    """
    with recording_new_sessions(recorder):
        server = BrokerServer(backend.settings(log_level="WARNING"))
    if recorder.sessions_attached == 0:
        raise RuntimeError(
            "the broker made no botocore session while its app was built: its AWS calls cannot be counted"
        )
    quiet_request_logs()
    try:
        with recording_key_probes(recorder), server:
            yield server
    finally:
        server.server.server_close()


class BareWsgiServer:
    """The same threaded werkzeug server as the broker's, answering fixed bytes with no framework.

    Its round trip is the floor of an OSB call that needs no AWS (the catalog): HTTP, threads and
    the client, without Flask, openbrokerapi or the broker's checks.
    """

    def __init__(self, body: bytes, content_type: str = "application/json") -> None:
        self.body = body
        self.content_type = content_type
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", self.content_type), ("Content-Length", str(len(self.body)))])
        return [self.body]

    def __enter__(self) -> BareWsgiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
