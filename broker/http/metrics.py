"""Prometheus metrics of the broker's requests, summed over every gunicorn worker.

Each worker is a process with its own counters. With PROMETHEUS_MULTIPROC_DIR set (the gunicorn
master makes a directory and sets it before the workers start and import prometheus_client),
every worker writes its counts to files there and a scrape answered by any worker sums them all.
Without it (an app built in a test) the counters are the process's own.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import MutableMapping
from typing import Any

# prometheus_client picks per-process or shared-file counters when first imported, from the
# environment: so this module imports it only inside Metrics, never when gunicorn's master
# imports it for make_shared_dir (the workers it forks would inherit the per-process choice).

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


def make_shared_dir(environ: MutableMapping[str, str]) -> str | None:
    """Make the workers' shared directory and set it in `environ`; None if the operator set one."""
    if environ.get(MULTIPROC_DIR):
        return None
    path = tempfile.mkdtemp(prefix="s3-broker-metrics-")
    environ[MULTIPROC_DIR] = path
    return path


def remove_shared_dir(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


class Metrics:
    def __init__(self, multiprocess_dir: str | None = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram, values
        from prometheus_client.exposition import CONTENT_TYPE_LATEST

        if multiprocess_dir and values.ValueClass is values.MutexValue:
            raise RuntimeError(f"prometheus_client was imported before {MULTIPROC_DIR} was set: counts won't add up")
        self.multiprocess_dir = multiprocess_dir
        self.content_type = CONTENT_TYPE_LATEST
        self.registry: Any = CollectorRegistry()
        self.requests = Counter(
            "s3_broker_requests", "OSB requests answered", ["endpoint", "status"], registry=self.registry
        )
        self._series: dict[tuple[str, int], tuple[Any, Any]] = {}
        self.latency = Histogram(
            "s3_broker_request_seconds", "Time to answer an OSB request", ["endpoint"], registry=self.registry
        )

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        # The labelled series, looked up once per (endpoint, status): there are a few dozen, and
        # prometheus_client's own look-up checks the labels and takes a lock on every request.
        series = self._series.get((endpoint, status))
        if series is None:
            series = self._series.setdefault(
                (endpoint, status),
                (self.requests.labels(endpoint=endpoint, status=str(status)), self.latency.labels(endpoint=endpoint)),
            )
        series[0].inc()
        series[1].observe(seconds)

    def exposition(self) -> bytes:
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client.multiprocess import MultiProcessCollector

        if not self.multiprocess_dir:
            return generate_latest(self.registry)

        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.multiprocess_dir)
        return generate_latest(registry)


def iam_user_gauges(users: int, quota: int | None, ceiling: int) -> bytes:
    """The account's IAM users, AWS's quota of them and the ceiling binds stop at, as Prometheus gauges.

    Made as text, not as prometheus_client gauges: they are the account's, not a worker's, so
    summing them over the workers' files (as the counters are) would be wrong.
    """
    gauges = [
        ("s3_broker_account_iam_users", "IAM users in the AWS account, the broker's and all others", users),
        ("s3_broker_account_iam_users_quota", "IAM users AWS allows the account", quota),
        ("s3_broker_iam_users_ceiling", "IAM users past which binds are refused (MAX_IAM_USERS or the quota)", ceiling),
    ]
    lines = []
    for name, help_text, value in gauges:
        if value is not None:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value}"]
    return ("\n".join(lines) + "\n").encode()


def metrics_from_environment() -> Metrics:
    return Metrics(os.environ.get(MULTIPROC_DIR) or None)
