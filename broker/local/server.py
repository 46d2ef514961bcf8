"""The local AWS server: moto's S3, IAM and STS behind the local gate, on 127.0.0.1 only.

`make run` starts it in a thread of the gunicorn master (broker/server/startup.py); the tests and
benchmarks start it as a process of its own (`python -m broker.local.server --port N`) so it
does not share their GIL. Everything it holds lives in memory and is gone when it stops.
"""

from __future__ import annotations

import argparse
import logging
import threading

from moto import settings as moto_settings
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from broker.local import iam_users
from broker.local.gate import LocalGate
from broker.ports import listening_socket

HOST = "127.0.0.1"


def make_local_server(port: int, setting: str = "LOCAL_AWS_PORT") -> BaseWSGIServer:
    """Bind the port first (a SettingsError naming `setting` if it is taken), then build the server.

    IAM enforcement starts off, so the broker's own user can be made; `local.set_enforcement`
    turns it on.
    """
    sock = listening_socket(HOST, port, setting)
    moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
    iam_users.install()
    app = LocalGate(DomainDispatcherApplication(create_backend_app))
    try:
        return make_server(HOST, port, app, threaded=True, request_handler=MotoRequestHandler, fd=sock.fileno())
    finally:
        sock.close()  # the server holds its own duplicate of the socket


def start_in_thread(port: int) -> BaseWSGIServer:
    server = make_local_server(port)
    threading.Thread(target=server.serve_forever, name="local-aws", daemon=True).start()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description="The broker's local AWS (moto with the local gate) on 127.0.0.1.")
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    make_local_server(port, "--port").serve_forever()


if __name__ == "__main__":
    main()
