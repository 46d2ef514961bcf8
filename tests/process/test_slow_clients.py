"""Slow clients against the server as the Procfile runs it: they cannot starve real requests, and
deadlines let go of connections that trickle headers or bodies."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests

from testing.harness import Backend
from testing.processes import served_settings
from testing.procfile import procfile_server
from testing.slow_load import SlowClients

AUTH = ("cc", "slow-clients-test-password")
SLOW_CONNECTIONS = 150

# Its tests share a server that a module fixture starts: under xdist one worker runs them all.
pytestmark = [pytest.mark.slow_clients, pytest.mark.xdist_group("slow_clients")]


@pytest.fixture(scope="module")
def procfile_port(backend: Backend) -> Iterator[int]:
    """The Procfile's gunicorn, pointed at the test backend as operators point it at AWS."""
    with procfile_server(served_settings(backend, AUTH)) as port:
        yield port


def health(port: int) -> int:
    return requests.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code


def catalog(port: int) -> int:
    headers = {"X-Broker-API-Version": "2.17"}
    return requests.get(f"http://127.0.0.1:{port}/v2/catalog", auth=AUTH, headers=headers, timeout=5).status_code


def test_hundreds_of_slow_or_idle_connections_do_not_starve_real_requests(procfile_port: int) -> None:
    with SlowClients("127.0.0.1", procfile_port, SLOW_CONNECTIONS) as clients:
        for _ in range(10):
            assert health(procfile_port) == 200
            assert catalog(procfile_port) == 200
        assert len(clients.connections) == SLOW_CONNECTIONS


def read_until_closed(connection: socket.socket) -> bytes:
    answer = b""
    while True:
        chunk = connection.recv(65536)
        if not chunk:
            return answer
        answer += chunk


def test_a_connection_trickling_its_headers_is_closed(procfile_port: int) -> None:
    with socket.create_connection(("127.0.0.1", procfile_port), timeout=60) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\n")
        closed = False
        for _ in range(120):  # one header byte every half second, for at most a minute
            try:
                connection.sendall(b"a")
            except OSError:
                closed = True
                break
            connection.settimeout(0.5)
            try:
                if connection.recv(65536) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
        assert closed, "the server kept a connection whose headers never ended"


def whole_response(connection: socket.socket, start: bytes) -> bytes:
    """The response that begins with `start`: its headers and body may arrive in separate segments."""
    answer = start
    while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < content_length(answer):
        chunk = connection.recv(65536)
        if not chunk:
            break
        answer += chunk
    return answer


def content_length(answer: bytes) -> int:
    head = answer.partition(b"\r\n\r\n")[0].lower()
    return next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.startswith(b"content-length:")), 0)


def test_a_trickled_body_gets_408(procfile_port: int) -> None:
    head = (
        b"PUT /v2/service_instances/6f1c2a8e-0b7d-4c1e-9a3f-2d5e8b7c4a10 HTTP/1.1\r\n"
        b"Host: broker\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )
    with socket.create_connection(("127.0.0.1", procfile_port), timeout=60) as connection:
        connection.sendall(head)
        connection.settimeout(0.5)
        answer = b""
        for _ in range(120):
            try:
                answer = connection.recv(65536)
                break
            except TimeoutError:
                connection.sendall(b" ")
        connection.settimeout(10)
        answer = whole_response(connection, answer)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"did not arrive within 2 seconds" in answer  # BODY_DEADLINE, as SHORT_WAITS sets it
