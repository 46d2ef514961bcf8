"""The local AWS (moto behind its gate, as `make run` serves it) in a process of its own, on loopback."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from broker.local import backend, tls

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class MotoProcess:
    """The local AWS on 127.0.0.1 in its own process (so it does not share the broker's GIL)."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    tls_port: int = field(default_factory=free_port)
    cert_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="local-aws-tls-")))

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def https_endpoint(self) -> str:
        """The same local AWS over HTTPS, with a self-signed certificate (trust `ca_bundle`)."""
        return f"https://127.0.0.1:{self.tls_port}"

    @property
    def ca_bundle(self) -> str:
        return str(self.cert_dir / tls.CERTIFICATE)

    def start(self) -> MotoProcess:
        # The admin API's token, shared with the server through the environment (backend.admin_call reads it).
        os.environ.setdefault(backend.ADMIN_TOKEN_ENV, secrets.token_urlsafe(32))
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "broker.local.server", "--port", str(self.port), "--test-headers"),
                *("--tls-port", str(self.tls_port), "--cert-dir", str(self.cert_dir)),
            ],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=None if os.environ.get("LOCAL_AWS_DEBUG") else subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.endpoint}/moto-api/", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("moto server did not start")

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.cert_dir, ignore_errors=True)
