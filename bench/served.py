"""The broker and a bare openbrokerapi app under gunicorn, side by side, per server set-up.

For each set-up (the Procfile's gevent workers; a set-up is an environment as an operator sets it)
and each app, in rounds: start gunicorn as the Procfile runs it on Cloud Foundry (VCAP_APPLICATION and
AWS set; the broker checks its key with STS at start), time the first answered catalog request,
load GET /v2/catalog, then read each process's CPU and memory from /proc and stop it. The apps
alternate within a round, so a busier minute on the shared machine hits both.

Keep-alive pinning: gunicorn leaves a kept-alive connection with the worker that accepted it, so
a few long connections can all land on one worker and cap the rate at one core. The load comes
from two client processes of four threads each, every connection replaced after
REQUESTS_PER_CONNECTION requests, on a fresh server each round; the rate is given as
min/median/max over the rounds and the CPU split per worker shows how even the spread was.
CPU per request (the workers' CPU over the requests answered) hardly depends on the spread.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

from bench.concurrency import BurstResult, broker_binds
from bench.stats import Latency, summarize
from bench.throughput import (
    PASSWORD,
    REQUESTS_PER_CONNECTION,
    USERNAME,
    broker_environment,
    child_pids,
    cpu_seconds_of,
    gunicorn_command,
    load,
    memory_mib,
    running_gunicorn,
    wait_for_first_answer,
)
from testing.harness import REPO, Backend, OSBClient, free_port

# name -> environment over the Procfile's (gevent won against gthread 2x8: docs/benchmarks.md)
SETUPS: dict[str, dict[str, str]] = {
    "gevent 2 workers (Procfile)": {},
}
APPS: dict[str, list[str]] = {
    "broker": ["--config", "python:broker.server.gunicorn_config", "broker.http.app:create_app()"],
    "bare openbrokerapi": ["--config", "python:bench.bare_gunicorn_config", "bench.bare_app:create_app()"],
}
CLIENT_PROCESSES = 2
VCAP_APPLICATION = json.dumps({"application_name": "s3-broker", "space_name": "bench"})


@dataclass(frozen=True)
class Spread:
    min: float
    median: float
    max: float


def spread(values: list[float], digits: int = 2) -> Spread:
    return Spread(round(min(values), digits), round(statistics.median(values), digits), round(max(values), digits))


@dataclass(frozen=True)
class Round:
    startup_s: float
    requests: int
    errors: int
    requests_per_s: float
    worker_cpu_s: list[float]
    cpu_ms_per_request: float
    worker_rss_mib: list[float]  # VmRSS after the load
    worker_peak_rss_mib: list[float]  # VmHWM
    master_rss_mib: float


@dataclass(frozen=True)
class Served:
    setup: str
    app: str
    rounds: list[Round]
    startup_s: Spread
    requests_per_s: Spread
    cpu_ms_per_request: Spread
    worker_rss_mib_max: float
    master_rss_mib_max: float
    latency: Latency


@dataclass(frozen=True)
class BindsOverHttp:
    setup: str
    bursts: list[BurstResult]
    worker_rss_mib: list[float]  # VmRSS after the binds: every AWS client has been used by then


@dataclass(frozen=True)
class ServedRun:
    in_process: dict[str, Any]  # bench.hooks: microseconds of CPU per catalog request, no server
    client_processes: int
    client_threads: int
    seconds_per_round: float
    rounds: int
    requests_per_connection: int
    catalog: list[Served]
    binds: list[BindsOverHttp]


def command(app: str, port: int) -> list[str]:
    """The Procfile's gunicorn with the app's config; --bind keeps it on loopback although VCAP_APPLICATION is set."""
    base = gunicorn_command()[:-3]
    config = APPS[app]
    return [*base, *config[:-1], "--bind", f"127.0.0.1:{port}", config[-1]]


def environment(backend: Backend, port: int, setup: str) -> dict[str, str]:
    on_cf = {"VCAP_APPLICATION": VCAP_APPLICATION, "IAM_PERMISSIONS_BOUNDARY_ARN": backend.permissions_boundary_arn}
    return {**broker_environment(backend, port), **SETUPS[setup], **on_cf}


def spread_load(port: int, threads: int, seconds: float) -> tuple[float, list[float], int]:
    """`load` from CLIENT_PROCESSES processes at once: one Python client process caps the rate at one core."""
    with ProcessPoolExecutor(CLIENT_PROCESSES, mp_context=get_context("fork")) as pool:
        futures = [pool.submit(load, port, threads, seconds, 10**9) for _ in range(CLIENT_PROCESSES)]
        parts = [future.result() for future in futures]
    return max(p[0] for p in parts), [lat for p in parts for lat in p[1]], sum(p[2] for p in parts)


def one_round(backend: Backend, setup: str, app: str, threads: int, seconds: float) -> tuple[Round, list[float]]:
    port = free_port()
    started = time.perf_counter()
    with running_gunicorn(command(app, port), environment(backend, port, setup)) as process:
        startup = wait_for_first_answer(port, process, started)
        workers = child_pids(process.pid)
        cpu_before = {pid: cpu_seconds_of(pid) for pid in workers}
        elapsed, latencies, errors = spread_load(port, threads, seconds)
        cpu = [round(cpu_seconds_of(pid) - cpu_before[pid], 2) for pid in workers]
        memory = [memory_mib(pid) for pid in workers]
        master = memory_mib(process.pid)["VmRSS"]
    return (
        Round(
            startup_s=round(startup, 3),
            requests=len(latencies),
            errors=errors,
            requests_per_s=round(len(latencies) / elapsed, 1),
            worker_cpu_s=cpu,
            cpu_ms_per_request=round(sum(cpu) / len(latencies) * 1000, 3),
            worker_rss_mib=[m["VmRSS"] for m in memory],
            worker_peak_rss_mib=[m["VmHWM"] for m in memory],
            master_rss_mib=master,
        ),
        latencies,
    )


class GunicornBroker:
    """What bench.concurrency needs of a server: OSB clients to it."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"

    def osb(self) -> OSBClient:
        return OSBClient(self.url, (USERNAME, PASSWORD))


def binds_over_http(backend: Backend, setup: str, count: int) -> BindsOverHttp:
    """Binds through gunicorn (two workers) from this process, at once and one by one, as in-process."""
    port = free_port()
    with running_gunicorn(command("broker", port), environment(backend, port, setup)) as process:
        wait_for_first_answer(port, process, time.perf_counter())
        server = GunicornBroker(port)
        broker_binds(server, 5, "one by one")  # warm both workers' connections to AWS
        bursts = [broker_binds(server, count, mode) for mode in ("at once", "one by one")]
        memory = [memory_mib(pid)["VmRSS"] for pid in child_pids(process.pid)]
    return BindsOverHttp(setup, bursts, memory)


def in_process(backend: Backend) -> dict[str, Any]:
    """bench.hooks in a process set up as a gunicorn worker (see there)."""
    environ = {**broker_environment(backend, free_port()), "PYTHONPATH": str(REPO)}
    environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    done = subprocess.run(
        [sys.executable, "-m", "bench.hooks"], cwd=REPO, env=environ, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.hooks failed: {done.stderr[-3000:]}")
    return dict(json.loads(done.stdout))


def measure_served(
    backend: Backend,
    threads: int,
    seconds: float,
    rounds: int,
    binds: int,
    progress: Callable[[str], None] = lambda _: None,
) -> ServedRun:
    progress("  in-process catalog request and hooks")
    measured_in_process = in_process(backend)
    found: dict[tuple[str, str], list[tuple[Round, list[float]]]] = {}
    for number in range(rounds):
        for setup in SETUPS:
            for app in APPS:
                progress(f"  round {number + 1}/{rounds}: {app}, {setup}")
                found.setdefault((setup, app), []).append(one_round(backend, setup, app, threads, seconds))
    catalog = []
    for (setup, app), runs in found.items():
        made = [r for r, _ in runs]
        catalog.append(
            Served(
                setup=setup,
                app=app,
                rounds=made,
                startup_s=spread([r.startup_s for r in made], 3),
                requests_per_s=spread([r.requests_per_s for r in made], 0),
                cpu_ms_per_request=spread([r.cpu_ms_per_request for r in made], 3),
                worker_rss_mib_max=max(max(r.worker_rss_mib) for r in made),
                master_rss_mib_max=max(r.master_rss_mib for r in made),
                latency=summarize([lat for _, lats in runs for lat in lats]),
            )
        )
    bind_runs = []
    for setup in SETUPS:
        progress(f"  {binds} binds over HTTP, {setup}")
        bind_runs.append(binds_over_http(backend, setup, binds))
    return ServedRun(
        measured_in_process, CLIENT_PROCESSES, threads, seconds, rounds, REQUESTS_PER_CONNECTION, catalog, bind_runs
    )
