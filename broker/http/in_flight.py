"""The requests a worker is serving and its AWS pool's tasks, so /health can tell a worker that cannot progress.

Every request ends within its deadline plus cleanup plus one AWS attempt: the deadline is checked
before each attempt, and each attempt has its own timeouts. One that runs far longer is waiting on
something no deadline reaches (a wedged thread, a lock), and the requests after it may queue
behind it: the worker then answers /health with 503, so the platform's health check restarts it
instead of it looking healthy for ever while it serves nothing.
"""

from __future__ import annotations

from broker import deadlines
from broker.aws.clients import CONNECT_TIMEOUT, READ_TIMEOUT, AwsPool, RunningTimes


def stuck_after(request_deadline: float) -> float:
    """Seconds past which a request is stuck: its deadline, its cleanup and one last AWS attempt."""
    return request_deadline + deadlines.CLEANUP_SECONDS + CONNECT_TIMEOUT + READ_TIMEOUT


class InFlight:
    def __init__(self, request_deadline: float, pool: AwsPool) -> None:
        self.stuck_after = stuck_after(request_deadline)
        self.requests = RunningTimes()
        self.pool = pool

    def start(self) -> int:
        return self.requests.start()

    def end(self, number: int) -> None:
        self.requests.end(number)

    def stuck(self) -> str | None:
        """Why the worker is stuck, or None when every request and pool task is within its time."""
        request, task = self.requests.longest_running(), self.pool.running.longest_running()
        if max(request, task) <= self.stuck_after:
            return None
        what = "A request" if request >= task else "An AWS call on the worker's pool"
        return (
            f"{what} has run {max(request, task):.0f} seconds, far past its deadline ({self.stuck_after:g} seconds "
            "with cleanup): this worker cannot make progress and should be restarted."
        )
