"""gunicorn started with the Procfile's command, on loopback, for tests that need the real server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import requests

from testing.harness import REPO, free_port
from testing.processes import SHORT_WAITS

PROCFILE_COMMAND = (REPO / "Procfile").read_text().split(":", 1)[1].strip()


@contextmanager
def procfile_server(settings: dict[str, str]) -> Iterator[int]:
    """Serve with the Procfile's command and `settings` as its only broker and AWS environment; yield the port."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "BROKER_", "VCAP_"))}
    env.update(SHORT_WAITS)
    env.update(PATH=f"{os.path.dirname(sys.executable)}:{env.get('PATH', '')}", PORT=str(port), **settings)
    command = [sys.executable, "-m", *PROCFILE_COMMAND.replace('"', "").split()]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, "gunicorn exited"
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
