"""The requests a worker is serving, so /health can tell a worker that cannot progress.

Every request ends within its deadline plus cleanup plus one AWS attempt: the deadline is checked
before each attempt, and each attempt has its own timeouts. One that runs far longer is waiting on
something no deadline reaches (a wedged thread, a lock), and the requests after it may queue
behind it: the worker then answers /health with 503, so the platform's health check restarts it
instead of it looking healthy for ever while it serves nothing.
"""

from __future__ import annotations

import itertools
import time

from broker import deadlines
from broker.aws.clients import CONNECT_TIMEOUT, READ_TIMEOUT


def stuck_after(request_deadline: float) -> float:
    """Seconds past which a request is stuck: its deadline, its cleanup and one last AWS attempt."""
    return request_deadline + deadlines.CLEANUP_SECONDS + CONNECT_TIMEOUT + READ_TIMEOUT


class InFlight:
    def __init__(self, request_deadline: float) -> None:
        self.stuck_after = stuck_after(request_deadline)
        self._started: dict[int, float] = {}  # request number -> time.monotonic() at its start
        self._numbers = itertools.count()

    def start(self) -> int:
        number = next(self._numbers)
        self._started[number] = time.monotonic()
        return number

    def end(self, number: int) -> None:
        self._started.pop(number, None)

    def longest_running(self) -> float:
        """Seconds the oldest request still running has run (0 with none)."""
        oldest = min(self._started.values(), default=None)
        return 0.0 if oldest is None else time.monotonic() - oldest

    def stuck(self) -> str | None:
        """Why the worker is stuck, or None when every request is within its time."""
        longest = self.longest_running()
        if longest <= self.stuck_after:
            return None
        return (
            f"A request has run {longest:.0f} seconds, far past its deadline ({self.stuck_after:g} seconds with "
            "cleanup): this worker cannot make progress and should be restarted."
        )
