"""The Procfile's web command, read in one place, and gunicorn started with it on loopback.

This module imports nothing heavy at the top: the cf stand-in (testing/cf_emulator.py) reads the
command from here in every `cf push`."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Waits that production keeps long and tests need not sit out: a stopping gunicorn worker waits
# for its idle keep-alive connections (5 s), a trickled body gets 408 after the body deadline (10 s).
SHORT_WAITS = {"GUNICORN_KEEPALIVE": "2", "BODY_DEADLINE": "2"}


def web_command(procfile: Path = REPO / "Procfile") -> list[str]:
    """The words of the Procfile's `web:` line, as the shell that runs it on Cloud Foundry splits them."""
    for line in procfile.read_text().splitlines():
        kind, _, command = line.partition(":")
        if kind.strip() == "web":
            return shlex.split(command)
    raise ValueError(f"{procfile} has no web process")


def procfile_command(*extra: str, python: str | Path = sys.executable) -> list[str]:
    """The Procfile's command with the console script of `python`'s environment (the production
    virtualenv's, or this one's); `extra` gunicorn options go before the app."""
    words = web_command()
    executable = Path(python).parent / words[0]
    return [str(executable), *words[1:-1], *extra, words[-1]]


@contextmanager
def procfile_server(settings: dict[str, str]) -> Iterator[int]:
    """Serve with the Procfile's command and `settings` as its only broker and AWS environment; yield the port."""
    import requests

    from testing.harness import free_port

    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "BROKER_", "VCAP_"))}
    env.update(SHORT_WAITS)
    env.update(PATH=f"{os.path.dirname(sys.executable)}:{env.get('PATH', '')}", PORT=str(port), **settings)
    process = subprocess.Popen(
        procfile_command(), cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
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
