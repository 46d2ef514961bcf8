"""`python -m bench`: run every section, print the Markdown report, write bench/results/latest.{json,md}.

The defaults fit the whole run in about five minutes on two cores."""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.awscalls import AwsCallRecorder
from bench.concurrency import measure_concurrency
from bench.floor import Floor
from bench.operations import measure_operations, warm_up_moto
from bench.report import render_markdown
from bench.served import measure_served
from bench.servers import BareWsgiServer, expect, instrumented_broker
from testing.harness import REGION, Backend, BrokerServer, OSBClient

STARTED = time.perf_counter()
RESULTS = Path(__file__).resolve().parent / "results"
LOAD_THREADS = 4  # threads in each of the two catalog load processes


def parse_options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=40, help="rounds of every operation (default 40)")
    parser.add_argument("--binds-at-once", type=int, default=50, help="concurrent binds on one instance (50)")
    parser.add_argument("--provisions-at-once", type=int, default=20, help="concurrent provisions (20)")
    parser.add_argument("--load-seconds", type=float, default=3.0, help="catalog load under gunicorn per round (3)")
    parser.add_argument("--served-rounds", type=int, default=3, help="rounds under gunicorn, a fresh server each (3)")
    return parser.parse_args(argv)


def load_average() -> list[float]:
    """Other work on the machine skews every figure; the report says how busy it was."""
    return [round(value, 2) for value in os.getloadavg()]


def machine_info() -> dict[str, Any]:
    """What the figures were measured on, so runs on different machines are not compared blindly."""
    cpu = next((line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "")
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu_model": cpu.partition(":")[2].strip() or platform.processor() or "unknown",
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "moto": version("moto"),
        "boto3": version("boto3"),
        "load_average_at_start": load_average(),
    }


def write_atomically(path: Path, text: str) -> None:
    """Written beside the target and moved over it, so a reader never sees half a file."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)


def progress(message: str) -> None:
    """Progress goes to stderr, so stdout holds the report alone."""
    print(f"[{time.perf_counter() - STARTED:6.1f} s] {message}", file=sys.stderr, flush=True)


class Timer:
    """Seconds per section, for the report and for keeping an eye on the time budget."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def run(self, name: str, work: Callable[[], Any]) -> Any:
        progress(f"{name} ...")
        # The broker runs inside this process, which also holds the floor's clients and the harness:
        # a full collection here took about 230 ms and landed in whichever request was running (a
        # broker-only process pauses about 80 ms). Freezing what set-up made keeps it out of the figures.
        gc.collect()
        gc.freeze()
        started = time.perf_counter()
        result = work()
        self.seconds[name] = round(time.perf_counter() - started, 1)
        progress(f"{name} done in {self.seconds[name]:.0f} s")
        return result


def operations(
    server: BrokerServer, recorder: AwsCallRecorder, backend: Backend, floor: Floor, rounds: int
) -> list[dict[str, Any]]:
    osb = server.osb()
    catalog = expect(osb.catalog(), 200).content
    with BareWsgiServer(catalog) as bare:
        bare_client = OSBClient(bare.url, (server.settings.broker_username, server.settings.broker_password))
        warm_up_moto(
            Floor(backend.moto.endpoint, REGION, backend.broker, backend.permissions_boundary_arn), bare_client
        )
        found = measure_operations(osb, recorder, backend.broker.access_key_id, floor, bare_client, rounds)
    return [asdict(result) for result in found]


def sections(options: argparse.Namespace, timer: Timer, results: dict[str, Any]) -> None:
    """Operations, concurrency and the gunicorn comparison share one moto; it holds no leftovers between them."""
    backend = Backend.start()
    try:
        recorder = AwsCallRecorder()
        floor = Floor(backend.moto.endpoint, REGION, backend.broker, backend.permissions_boundary_arn)
        with instrumented_broker(backend, recorder) as server:
            results["operations"] = timer.run(
                "operations", lambda: operations(server, recorder, backend, floor, options.rounds)
            )
            bursts = timer.run(
                "concurrency",
                lambda: measure_concurrency(server, floor, options.binds_at_once, options.provisions_at_once),
            )
            results["concurrency"] = [asdict(burst) for burst in bursts]
        run = timer.run(
            "under gunicorn",
            lambda: measure_served(
                backend, LOAD_THREADS, options.load_seconds, options.served_rounds, options.binds_at_once, progress
            ),
        )
        results["served"] = asdict(run)
    finally:
        backend.moto.stop()


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    timer = Timer()
    results: dict[str, Any] = {"machine": machine_info(), "options": vars(options)}
    sections(options, timer, results)
    results["machine"]["load_average_at_end"] = load_average()
    results["section_seconds"] = timer.seconds
    results["total_seconds"] = round(time.perf_counter() - STARTED, 1)
    markdown = render_markdown(results)
    RESULTS.mkdir(exist_ok=True)
    write_atomically(RESULTS / "latest.json", json.dumps(results, indent=2) + "\n")
    write_atomically(RESULTS / "latest.md", markdown)
    print(markdown)
    progress(f"wrote {RESULTS}/latest.json and latest.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
