"""Slow clients for tests and benchmarks: connections that trickle headers, trickle bodies or sit idle.

One thread drives them all. A connection the server closes (a header or body deadline did its
job) is opened again, so the server faces the same number of slow connections throughout.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

HEADER_TRICKLE = "header"
BODY_TRICKLE = "body"
IDLE = "idle"
KINDS = (HEADER_TRICKLE, BODY_TRICKLE, IDLE)


@dataclass
class SlowConnection:
    kind: str
    sock: socket.socket
    pending: bytes  # what is still to be trickled, one byte per tick


def _opening(kind: str) -> tuple[bytes, bytes]:
    """What a connection sends at once, then what it trickles."""
    if kind == HEADER_TRICKLE:
        return b"GET /health HTTP/1.1\r\n", b"X-Slow: " + b"a" * 4000 + b"\r\n\r\n"
    if kind == BODY_TRICKLE:
        head = (
            b"PUT /v2/service_instances/slow HTTP/1.1\r\nHost: broker\r\nContent-Type: application/json\r\n"
            b"Content-Length: 4000\r\n\r\n"
        )
        return head, b"{" + b" " * 3998 + b"}"
    # Idle keep-alive: one request answered, then nothing.
    return b"GET /health HTTP/1.1\r\nHost: broker\r\n\r\n", b""


@dataclass
class SlowClients:
    host: str
    port: int
    count: int
    tick: float = 0.5
    connections: list[SlowConnection] = field(default_factory=list)
    reopened: int = 0
    refused: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _open(self, kind: str) -> SlowConnection | None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=5)
            first, rest = _opening(kind)
            sock.sendall(first)
            sock.setblocking(False)
            return SlowConnection(kind, sock, rest)
        except OSError:
            self.refused += 1
            return None

    def _alive(self, connection: SlowConnection) -> bool:
        """Send the next byte; drain whatever the server said. False once the server closed it."""
        try:
            while True:
                data = connection.sock.recv(65536)
                if not data:
                    return False
        except BlockingIOError:
            pass
        except OSError:
            return False
        if connection.pending:
            try:
                connection.sock.send(connection.pending[:1])
                connection.pending = connection.pending[1:]
            except BlockingIOError:
                pass
            except OSError:
                return False
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            for index, connection in enumerate(self.connections):
                if not self._alive(connection):
                    connection.sock.close()
                    self.reopened += 1
                    replacement = self._open(connection.kind)
                    if replacement is not None:
                        self.connections[index] = replacement
            self._stop.wait(self.tick)

    def __enter__(self) -> SlowClients:
        for index in range(self.count):
            opened = self._open(KINDS[index % len(KINDS)])
            if opened is not None:
                self.connections.append(opened)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        time.sleep(self.tick * 2)  # let every kind reach the state it holds the server in
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        for connection in self.connections:
            connection.sock.close()
