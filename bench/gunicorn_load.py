"""Running gunicorn as the Procfile does, loading `GET /v2/catalog` and reading the processes' CPU and
memory from /proc: for bench.served and bench.slow_clients.

The broker is pointed at the bench's moto through the environment, as an operator points it at
AWS. The load comes from threads on kept-alive connections, each replaced every
REQUESTS_PER_CONNECTION requests: a connection stays with the worker that accepted it, and a
handful may all land on one worker, whose GIL then caps the broker at one core (runs swung between
500 and 900 requests/s on two cores for that alone). Reconnecting spreads the load as a router does.
"""

from __future__ import annotations

import base64
import http.client
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from testing.harness import REPO, Backend

USERNAME = "cc"
PASSWORD = "bench-broker-password"
STARTUP_LIMIT_S = 60.0
REQUESTS_PER_CONNECTION = 50


def broker_environment(backend: Backend, port: int) -> dict[str, str]:
    environ = {key: value for key, value in os.environ.items() if key != "VCAP_APPLICATION"}
    environ.update(
        PORT=str(port),
        BROKER_USERNAME=USERNAME,
        BROKER_PASSWORD=PASSWORD,
        AWS_ENDPOINT_URL=backend.moto.endpoint,
        AWS_ACCESS_KEY_ID=backend.broker.access_key_id,
        AWS_SECRET_ACCESS_KEY=backend.broker.secret_access_key,
        AWS_REGION="eu-west-2",
    )
    return environ


def catalog_headers() -> dict[str, str]:
    token = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}", "X-Broker-API-Version": "2.17"}


def get(connection: http.client.HTTPConnection, headers: dict[str, str], path: str = "/v2/catalog") -> int:
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    return response.status


def get_once(port: int, headers: dict[str, str], path: str = "/v2/catalog") -> int:
    """One request on a connection of its own (5 s timeout); 0 when it got no answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        return get(connection, headers, path)
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        connection.close()


def wait_for_first_answer(port: int, process: subprocess.Popen[bytes], started: float) -> float:
    """Seconds from starting the process until the catalog is first answered 200."""
    headers = catalog_headers()
    while time.perf_counter() - started < STARTUP_LIMIT_S:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode} before answering")
        if get_once(port, headers) == 200:
            return time.perf_counter() - started
        time.sleep(0.01)
    raise RuntimeError(f"gunicorn did not answer within {STARTUP_LIMIT_S:g} s")


def child_pids(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def rss_mib(pid: int) -> float:
    """VmRSS (the resident set) from /proc/<pid>/status, in MiB."""
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS:"))
    return round(int(line.split()[1]) / 1024, 1)  # kB -> MiB


def cpu_seconds_of(pid: int) -> float:
    """User plus system CPU time, from /proc/<pid>/stat (fields 14 and 15, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(port: int, threads: int, seconds: float) -> tuple[float, list[float], int]:
    """Each thread asks for the catalog until the time runs out, reconnecting now and then."""
    headers = catalog_headers()
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    deadline = time.perf_counter() + seconds

    def run(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while time.perf_counter() < deadline:
                if len(latencies[index]) % REQUESTS_PER_CONNECTION == REQUESTS_PER_CONNECTION - 1:
                    connection.close()  # the next request connects again, maybe to the other worker
                started = time.perf_counter()
                try:
                    status = get(connection, headers)
                except (OSError, http.client.HTTPException):
                    status = 0
                    connection.close()
                latencies[index].append(time.perf_counter() - started)
                if status != 200:
                    errors[index] += 1
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    return elapsed, [latency for per_thread in latencies for latency in per_thread], sum(errors)


@dataclass(frozen=True)
class CatalogLoad:
    """What one load of a running gunicorn measured: the requests, and its workers' CPU and memory after."""

    elapsed_s: float
    latencies: list[float]
    errors: int
    worker_cpu_s: list[float]
    worker_rss_mib: list[float]  # after the load


def load_workers(
    process: subprocess.Popen[bytes], send_load: Callable[[], tuple[float, list[float], int]]
) -> CatalogLoad:
    """Run `send_load` against the server `process` started, with the CPU its workers spent meanwhile."""
    workers = child_pids(process.pid)
    cpu_before = {pid: cpu_seconds_of(pid) for pid in workers}
    elapsed, latencies, errors = send_load()
    cpu = [round(cpu_seconds_of(pid) - cpu_before[pid], 2) for pid in workers]
    return CatalogLoad(elapsed, latencies, errors, cpu, [rss_mib(pid) for pid in workers])


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM is gunicorn's graceful stop; the master takes its workers down with it."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def running_gunicorn(command: list[str], environ: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """gunicorn with its output kept aside, shown (the tail) only if the measurement fails; stopped after."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=REPO, env=environ, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield process
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-4000:])
            raise
        finally:
            stop(process)
