"""`python -m bench.slow_clients`: gevent workers with more or fewer connections, compared under slow clients.

For each set-up, gunicorn runs the Procfile's command (its config, with the connections per worker
chosen through the environment) against a moto backend, and this prints:
catalog requests/s and worker CPU per request with no slow clients; resident memory per worker;
then, while N connections trickle headers, trickle bodies or sit idle on keep-alive, how
/health and an authenticated catalog answer (each asked one at a time with a 5 s timeout).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import astuple, dataclass

from bench.gunicorn_load import (
    broker_environment,
    catalog_headers,
    get_once,
    load,
    load_workers,
    running_gunicorn,
    wait_for_first_answer,
)
from bench.report import table
from testing.harness import Backend, free_port
from testing.procfile import procfile_command
from testing.slow_load import SlowClients

# name -> environment over the broker's: connections per gevent worker (1,000 was the default before).
SETUPS: dict[str, dict[str, str]] = {
    "gevent 2x1000 (before)": {"GUNICORN_WORKER_CONNECTIONS": "1000"},
    "gevent 2x2000": {"GUNICORN_WORKER_CONNECTIONS": "2000"},
    "gevent 2x4000 (Procfile now)": {},
}


@dataclass(frozen=True)
class Probe:
    answered: int
    failed: int
    p50_ms: float | None
    max_ms: float | None


@dataclass(frozen=True)
class SetupResult:
    name: str
    requests_per_s: float
    cpu_ms_per_request: float
    cpu_s_per_worker: list[float]
    rss_mib_per_worker: float
    slow_connections: int
    reopened: int
    health: Probe
    catalog: Probe


def ask(port: int, path: str, headers: dict[str, str], times: int) -> Probe:
    latencies, failed = [], 0
    for _ in range(times):
        started = time.perf_counter()
        if get_once(port, headers, path) == 200:
            latencies.append((time.perf_counter() - started) * 1000)
        else:
            failed += 1
    return Probe(
        answered=len(latencies),
        failed=failed,
        p50_ms=round(statistics.median(latencies), 1) if latencies else None,
        max_ms=round(max(latencies), 1) if latencies else None,
    )


def measure(backend: Backend, name: str, slow: int, seconds: float) -> SetupResult:
    port = free_port()
    with running_gunicorn(procfile_command(), {**broker_environment(backend, port), **SETUPS[name]}) as process:
        wait_for_first_answer(port, process, time.perf_counter())
        done = load_workers(process, lambda: load(port, threads=8, seconds=seconds))
        with SlowClients("127.0.0.1", port, slow) as clients:
            health = ask(port, "/health", {}, 20)
            catalog = ask(port, "/v2/catalog", catalog_headers(), 20)
            reopened = clients.reopened
    return SetupResult(
        name=name,
        requests_per_s=round(len(done.latencies) / done.elapsed_s, 1),
        cpu_ms_per_request=round(sum(done.worker_cpu_s) / len(done.latencies) * 1000, 2),
        cpu_s_per_worker=done.worker_cpu_s,
        rss_mib_per_worker=round(statistics.mean(done.worker_rss_mib), 1),
        slow_connections=slow,
        reopened=reopened,
        health=health,
        catalog=catalog,
    )


def describe(probe: Probe) -> str:
    times = f"{probe.p50_ms}/{probe.max_ms}" if probe.answered else "-"
    return f"{probe.answered}/{probe.failed}, {times}"


def render(results: list[SetupResult]) -> str:
    header = ["set-up", "catalog req/s", "worker CPU ms/req", "worker CPU s", "RSS MiB/worker", "slow conns"]
    header += ["/health ok/fail, p50/max ms", "catalog ok/fail, p50/max ms"]
    # The first six fields, name to slow_connections, are cells as they are.
    return table(header, [[*astuple(r)[:6], describe(r.health), describe(r.catalog)] for r in results])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", type=int, default=2200, help="slow connections held open (default 2,200)")
    parser.add_argument("--seconds", type=float, default=5.0, help="catalog load per set-up (default 5 s)")
    parser.add_argument("--setups", default=";".join(SETUPS), help="set-up names separated by ;")
    arguments = parser.parse_args()
    backend = Backend.start()
    try:
        results = []
        for name in arguments.setups.split(";"):
            print(f"measuring {name} ...", file=sys.stderr, flush=True)
            results.append(measure(backend, name, arguments.slow, arguments.seconds))
    finally:
        backend.moto.stop()
    print(render(results))


if __name__ == "__main__":
    main()
