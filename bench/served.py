"""The broker and a bare openbrokerapi app under gunicorn, side by side, with the Procfile's gevent workers.

For each app, in rounds: start gunicorn as the Procfile runs it on Cloud Foundry (VCAP_APPLICATION and
AWS set; the broker checks its key with STS at start), time the first answered catalog request,
load GET /v2/catalog, then read each process's CPU and memory from /proc and stop it. The apps
alternate within a round, so a busier minute on the shared machine hits both.

The load comes from two client processes of four threads each (see bench.gunicorn_load), a fresh
server each round; CPU per request (the workers' CPU over the requests answered) is the figure to compare.
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
from types import SimpleNamespace
from typing import Any

from bench.concurrency import BurstResult, broker_binds
from bench.gunicorn_load import (
    PASSWORD,
    REQUESTS_PER_CONNECTION,
    USERNAME,
    broker_environment,
    child_pids,
    load,
    load_workers,
    rss_mib,
    running_gunicorn,
    wait_for_first_answer,
)
from bench.stats import Latency, summarize
from testing.harness import REPO, Backend, OSBClient, free_port
from testing.procfile import procfile_command

# Both apps run on the Procfile's gevent workers (gevent won against gthread 2x8: docs/benchmarks.md).
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
    worker_rss_mib: list[float]  # after the load
    master_rss_mib: float


@dataclass(frozen=True)
class Served:
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
    binds: BindsOverHttp


def command(app: str, port: int) -> list[str]:
    """The Procfile's gunicorn with the app's config; --bind keeps it on loopback although VCAP_APPLICATION is set."""
    config = APPS[app]
    return [procfile_command()[0], *config[:-1], "--bind", f"127.0.0.1:{port}", config[-1]]


def environment(backend: Backend, port: int) -> dict[str, str]:
    on_cf = {"VCAP_APPLICATION": VCAP_APPLICATION, "IAM_PERMISSIONS_BOUNDARY_ARN": backend.permissions_boundary_arn}
    return {**broker_environment(backend, port), **on_cf}


def spread_load(port: int, threads: int, seconds: float) -> tuple[float, list[float], int]:
    """`load` from CLIENT_PROCESSES processes at once: one Python client process caps the rate at one core."""
    with ProcessPoolExecutor(CLIENT_PROCESSES, mp_context=get_context("fork")) as pool:
        futures = [pool.submit(load, port, threads, seconds) for _ in range(CLIENT_PROCESSES)]
        parts = [future.result() for future in futures]
    return max(p[0] for p in parts), [lat for p in parts for lat in p[1]], sum(p[2] for p in parts)


def one_round(backend: Backend, app: str, threads: int, seconds: float) -> tuple[Round, list[float]]:
    port = free_port()
    started = time.perf_counter()
    with running_gunicorn(command(app, port), environment(backend, port)) as process:
        startup = wait_for_first_answer(port, process, started)
        done = load_workers(process, lambda: spread_load(port, threads, seconds))
        master = rss_mib(process.pid)
    return (
        Round(
            startup_s=round(startup, 3),
            requests=len(done.latencies),
            errors=done.errors,
            requests_per_s=round(len(done.latencies) / done.elapsed_s, 1),
            worker_cpu_s=done.worker_cpu_s,
            cpu_ms_per_request=round(sum(done.worker_cpu_s) / len(done.latencies) * 1000, 3),
            worker_rss_mib=done.worker_rss_mib,
            master_rss_mib=master,
        ),
        done.latencies,
    )


def binds_over_http(backend: Backend, count: int) -> BindsOverHttp:
    """Binds through gunicorn (two workers) from this process, at once and one by one, as in-process."""
    port = free_port()
    with running_gunicorn(command("broker", port), environment(backend, port)) as process:
        wait_for_first_answer(port, process, time.perf_counter())
        # What bench.concurrency needs of a server: OSB clients to it.
        server = SimpleNamespace(osb=lambda: OSBClient(f"http://127.0.0.1:{port}", (USERNAME, PASSWORD)))
        broker_binds(server, 5, "one by one")  # warm both workers' connections to AWS
        bursts = [broker_binds(server, count, mode) for mode in ("at once", "one by one")]
        memory = [rss_mib(pid) for pid in child_pids(process.pid)]
    return BindsOverHttp(bursts, memory)


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
    found: dict[str, list[tuple[Round, list[float]]]] = {app: [] for app in APPS}
    for number in range(rounds):
        for app in APPS:
            progress(f"  round {number + 1}/{rounds}: {app}")
            found[app].append(one_round(backend, app, threads, seconds))
    catalog = []
    for app, runs in found.items():
        made = [r for r, _ in runs]
        catalog.append(
            Served(
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
    progress(f"  {binds} binds over HTTP")
    bound = binds_over_http(backend, binds)
    return ServedRun(
        measured_in_process, CLIENT_PROCESSES, threads, seconds, rounds, REQUESTS_PER_CONNECTION, catalog, bound
    )
