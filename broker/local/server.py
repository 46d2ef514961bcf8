"""The local AWS server: moto's S3, IAM and STS behind the local gate, on 127.0.0.1 only.

`make run` starts it in a thread of the gunicorn master (broker/server/startup.py); the tests and
benchmarks start it as a process of its own (`python -m broker.local.server --port N`) so it
does not share their GIL. Everything it holds lives in memory and is gone when it stops.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import ssl
import tempfile
import threading
from pathlib import Path

from moto import settings as moto_settings
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from broker.local import iam_users, tls
from broker.local.backend import ADMIN_TOKEN_ENV
from broker.local.gate import LocalGate
from broker.ports import listening_socket

HOST = "127.0.0.1"


def leave_bucket_policies_to_the_gate() -> None:
    """moto checks a bucket's policy itself on object requests, whatever its IAM enforcement: it takes
    every Deny with a Condition as denying (so a TLS-only bucket refused everything) and checks HEAD
    as "s3:HeadObject", which no policy names. Every request that reaches moto has already been
    judged by the gate against the same policy, as AWS judges it, so moto's check answers "permitted"."""
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    def permitted(self: FakeBucket, action: str, resource: str) -> PermissionResult:
        return PermissionResult.PERMITTED

    FakeBucket.get_permission = permitted  # type: ignore[method-assign]


def admin_token() -> str:
    """The admin API's token: the one in the environment (the tests pass theirs), else one made now and
    put there, so this process's `backend.set_enforcement` finds it (`make run` serves in-process)."""
    if not os.environ.get(ADMIN_TOKEN_ENV):
        os.environ[ADMIN_TOKEN_ENV] = secrets.token_urlsafe(32)
    return os.environ[ADMIN_TOKEN_ENV]


def make_gate(*, test_headers: bool = False) -> LocalGate:
    """moto's app behind the gate. moto's own IAM enforcement stays off for good: the gate judges every
    request (judge.py says why). The gate's enforcement starts off, so the broker's own user can be
    made; `backend.set_enforcement` turns it on."""
    moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
    iam_users.install()
    leave_bucket_policies_to_the_gate()
    return LocalGate(DomainDispatcherApplication(create_backend_app), admin_token(), test_headers=test_headers)


def serve(app: LocalGate, port: int, setting: str, ssl_context: ssl.SSLContext | None = None) -> BaseWSGIServer:
    """Bind the port first (a SettingsError naming `setting` if it is taken), then build the server."""
    sock = listening_socket(HOST, port, setting)
    try:
        handler, fd = MotoRequestHandler, sock.fileno()
        return make_server(HOST, port, app, threaded=True, request_handler=handler, ssl_context=ssl_context, fd=fd)
    finally:
        sock.close()  # the server holds its own duplicate of the socket


def make_local_server(port: int, setting: str = "LOCAL_AWS_PORT", *, test_headers: bool = False) -> BaseWSGIServer:
    return serve(make_gate(test_headers=test_headers), port, setting)


def start_in_thread(port: int) -> BaseWSGIServer:
    server = make_local_server(port)
    threading.Thread(target=server.serve_forever, name="local-aws", daemon=True).start()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description="The broker's local AWS (moto with the local gate) on 127.0.0.1.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--test-headers",
        action="store_true",
        help="honour X-Local-Source-Ip and X-Local-Source-Vpce (the tests' backend only)",
    )
    parser.add_argument("--tls-port", type=int, help="also serve HTTPS here, with a certificate made at start")
    parser.add_argument("--cert-dir", type=Path, help="where the certificate goes (with --tls-port)")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = make_gate(test_headers=arguments.test_headers)
    if arguments.tls_port:
        directory = arguments.cert_dir or Path(tempfile.mkdtemp(prefix="local-aws-tls-"))
        tls.make_certificate(directory, HOST)
        https = serve(app, arguments.tls_port, "--tls-port", tls.server_context(directory))
        threading.Thread(target=https.serve_forever, name="local-aws-https", daemon=True).start()
    serve(app, arguments.port, "--port").serve_forever()


if __name__ == "__main__":
    main()
