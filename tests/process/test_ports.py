"""`make run` (python -m broker) with a port already taken exits with a message naming the port and setting."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from testing.harness import REPO, free_port
from testing.processes import clean_env


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port on 127.0.0.1 that another process (here: this one) listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


def start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # The timeout only guards against the hang this test exists to rule out.
    return subprocess.run(
        [sys.executable, "-m", "broker"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_taken_local_aws_port_stops_the_start_with_its_setting_named(taken_port: int) -> None:
    result = start(clean_env(PORT=str(free_port()), LOCAL_AWS_PORT=str(taken_port)))
    assert result.returncode != 0
    assert f"port {taken_port} on 127.0.0.1 (LOCAL_AWS_PORT)" in result.stderr
    assert "set LOCAL_AWS_PORT to a free port" in result.stderr
    assert "broker at" not in result.stdout  # no welcome for a broker that is not there


def test_a_taken_broker_port_stops_the_start_with_its_setting_named(taken_port: int) -> None:
    result = start(clean_env(PORT=str(taken_port), LOCAL_AWS_PORT=str(free_port())))
    assert result.returncode != 0
    assert f"port {taken_port} on 127.0.0.1 (PORT)" in result.stderr
    assert "set PORT to a free port" in result.stderr
    assert "embedded local AWS" not in result.stdout  # checked before the local AWS starts
