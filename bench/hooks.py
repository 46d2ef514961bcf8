"""`python -m bench.hooks`: what one GET /v2/catalog costs in-process, without any server, as JSON.

Run by the bench in a process of its own, set up as a gunicorn worker is: the broker's settings
from the environment, JSON log lines at INFO (written to /dev/null here), metrics in a shared
directory (PROMETHEUS_MULTIPROC_DIR), garbage frozen after the app is built. It measures the CPU
time per request of: the broker's whole WSGI call; its own work alone (its before- and
after-request hooks: auth in constant time, API version and header checks, the
audit log line, metrics, the catalog's bytes wrapped in a response); and the whole WSGI call of
the bare openbrokerapi app (bench/bare_app.py) serving the same catalog.
"""

from __future__ import annotations

import base64
import gc
import io
import json
import logging.config
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

REQUESTS = 5000
WARM_UP = 300


def catalog_environ(username: str, password: str) -> dict[str, Any]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/v2/catalog",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "HTTP_HOST": "127.0.0.1:8080",
        "HTTP_AUTHORIZATION": f"Basic {token}",
        "HTTP_X_BROKER_API_VERSION": "2.17",
        "HTTP_X_BROKER_API_REQUEST_IDENTITY": "e26cde91-0e9a-4d0e-9a2a-3a4b3b1b4b1b",
        "HTTP_X_BROKER_API_ORIGINATING_IDENTITY": "cloudfoundry "
        + base64.b64encode(b'{"user_id": "683ea748-3092-4ff4-b656-39cacc4d5360"}').decode(),
    }


def per_request_us(call: Callable[[], Any]) -> float:
    for _ in range(WARM_UP):
        call()
    started = time.process_time()
    for _ in range(REQUESTS):
        call()
    return round((time.process_time() - started) / REQUESTS * 1e6, 1)


def wsgi_call(app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> Callable[[], bytes]:
    def status(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        if not status.startswith("200"):
            raise RuntimeError(f"GET /v2/catalog answered {status}")

    def call() -> bytes:
        return b"".join(app({**environ, "wsgi.input": io.BytesIO(b"")}, status))

    return call


def hooks_us(app: Any, environ: dict[str, Any]) -> float:
    """The broker's before- and after-request hooks alone: the request context is made, pushed and
    popped (with the teardown hook, which resets the deadline) outside the timed part."""
    spent = 0.0
    for number in range(WARM_UP + REQUESTS):
        if number == WARM_UP:
            spent = 0.0
        context = app.request_context({**environ, "wsgi.input": io.BytesIO(b"")})
        context.push()
        try:
            started = time.process_time()
            response = app.process_response(app.make_response(app.preprocess_request()))
            spent += time.process_time() - started
        finally:
            context.pop()
        if response.status_code != 200:
            raise RuntimeError(f"the hooks answered {response.status_code}")
    return round(spent / REQUESTS * 1e6, 1)


def main() -> None:
    from broker.http import metrics
    from broker.logs import gunicorn_logconfig

    metrics.make_shared_dir(os.environ)
    with open(os.devnull, "w") as devnull:
        real_stderr, sys.stderr = sys.stderr, devnull  # the log handler writes where gunicorn's would, to nothing
        try:
            logging.config.dictConfig(gunicorn_logconfig())
        finally:
            sys.stderr = real_stderr
        from bench.bare_app import create_app as create_bare
        from broker.http.app import create_app

        broker = create_app()
        bare = create_bare()
        gc.collect()
        gc.freeze()
        environ = catalog_environ(os.environ["BROKER_USERNAME"], os.environ["BROKER_PASSWORD"])
        broker_call, bare_call = wsgi_call(broker, environ), wsgi_call(bare, environ)
        if broker_call() != bare_call():
            raise RuntimeError("the broker and the bare app answer different catalogs")
        result = {
            "requests": REQUESTS,
            "broker_wsgi_us": per_request_us(broker_call),
            "broker_hooks_us": hooks_us(broker, environ),
            "bare_wsgi_us": per_request_us(bare_call),
            "catalog_bytes": len(broker_call()),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
