"""AWS clients, made once per app and shared by its threads (botocore clients are thread-safe)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from contextvars import ContextVar, copy_context
from dataclasses import dataclass
from typing import Any

from botocore.config import Config

from broker import __version__, deadlines
from broker.aws.botocore_services import lean_session
from broker.settings import Settings

# Enough connections for every thread that may share a client: request threads and the pool.
MAX_POOL_CONNECTIONS = 64
# Per attempt. The request's deadline (REQUEST_DEADLINE) bounds all attempts together.
CONNECT_TIMEOUT = 3
# The longest an attempt waits for an answer: AWS_READ_TIMEOUT may shorten it (tests do), not lengthen it,
# so bounds made from it hold.
READ_TIMEOUT = Settings.aws_read_timeout
MAX_ATTEMPTS = 3


class RunningTimes:
    """When each piece of work still running started, so one that runs far too long shows."""

    def __init__(self) -> None:
        self._started: dict[int, float] = {}  # work number -> time.monotonic() at its start
        self._numbers = itertools.count()

    def start(self) -> int:
        number = next(self._numbers)
        self._started[number] = time.monotonic()
        return number

    def end(self, number: int) -> None:
        self._started.pop(number, None)

    def longest_running(self) -> float:
        """Seconds the oldest work still running has run (0 with none)."""
        oldest = min(list(self._started.values()), default=None)
        return 0.0 if oldest is None else time.monotonic() - oldest


class AwsPool(ThreadPoolExecutor):
    """The app's thread pool for AWS calls run at once. It times its tasks: a request gives up on a call
    that hangs past its deadline, but the pool thread running it stays wedged, and /health must see that."""

    def __init__(self, max_workers: int) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="aws")
        self.running = RunningTimes()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def timed() -> Any:
            number = self.running.start()
            try:
                return fn(*args, **kwargs)
            finally:
                self.running.end(number)

        return super().submit(timed)


def client_config(settings: Settings) -> Config:
    s3_options = {"addressing_style": "path"} if settings.aws_endpoint_url else {}
    return Config(
        region_name=settings.aws_region,
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=settings.aws_read_timeout,
        max_pool_connections=MAX_POOL_CONNECTIONS,
        s3=s3_options,
        # In the User-Agent of every AWS call, so CloudTrail shows which release of the broker acted.
        user_agent_extra=f"s3-broker/{__version__}",
    )


@dataclass
class AwsClients:
    s3: Any
    iam: Any
    sts: Any


def make_clients(settings: Settings) -> AwsClients:
    # botocore's own session, not boto3's: boto3 adds s3transfer and its resource layer, none of
    # which the broker calls (about 4 MiB and 70 ms of each worker's start); the clients are the same.
    # Its loader keeps only the endpoints of these three services (about 7 MiB less; botocore_data.py).
    session = lean_session()
    config = client_config(settings)

    def client(service: str) -> Any:
        made = session.create_client(
            service,
            region_name=settings.aws_region,
            endpoint_url=settings.aws_endpoint_url,
            aws_access_key_id=settings.aws_access_key_id,
            aws_secret_access_key=settings.aws_secret_access_key,
            config=config,
        )
        cap_retry_backoff(made, settings.aws_retry_max_backoff)
        return deadlines.guard(made)

    return AwsClients(s3=client("s3"), iam=client("iam"), sts=client("sts"))


def retry_backoff(client: Any) -> Any:
    """The back-off of botocore's standard retry handler on this client.

    botocore takes no setting for it, so it is found where botocore registered it: the handler
    of the client's needs-retry event (by its unique id), whose policy holds the back-off.
    """
    service = client.meta.service_model.service_id.hyphenize()
    handlers = client.meta.events._emitter._unique_id_handlers
    handler = handlers[f"retry-config-{service}"]["handler"].__self__
    return handler._retry_policy._retry_backoff


def cap_retry_backoff(client: Any, seconds: float) -> None:
    """Wait at most `seconds` before any retry of this client (botocore's own cap is 20 s)."""
    retry_backoff(client)._max_backoff = seconds


# Set inside the pool's own threads: work running there never waits on the pool again.
_in_pool: ContextVar[bool] = ContextVar("in_aws_pool", default=False)


def run_concurrently(pool: Executor, calls: list[Callable[[], Any]]) -> None:
    """Run independent AWS calls at once; wait for all of them, then raise the first failure.

    Each call runs in a copy of the caller's context, so it keeps the request's deadline, and the
    wait for them ends with it. Called from work already on the pool, the calls run one after
    another in that thread instead: a pool thread that waited on work queued behind it on the
    same pool would wait for ever once every thread did so (16 deletions each waiting on theirs).
    """
    if len(calls) == 1 or _in_pool.get():
        for call in calls:
            call()
        return

    def in_pool(call: Callable[[], Any]) -> Any:
        _in_pool.set(True)  # in this task's copy of the context only
        return call()

    left = deadlines.check("starting AWS calls")
    futures: list[Future[Any]] = [pool.submit(copy_context().run, in_pool, call) for call in calls]
    # A call checks the deadline before each attempt; one attempt can outlast it by its own timeouts.
    _done, pending = wait(futures, timeout=None if left is None else left + CONNECT_TIMEOUT + READ_TIMEOUT)
    if pending:
        for future in pending:
            future.cancel()
        deadlines.check("waiting for AWS calls")  # it has passed by now, so this raises
    errors = [future.exception() for future in futures]
    for error in errors:
        if error is not None:
            raise error
