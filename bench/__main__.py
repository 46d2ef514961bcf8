"""`python -m bench`: run every section, print the Markdown report, write bench/results/latest.*."""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from bench.awscalls import AwsCallRecorder
from bench.concurrency import measure_concurrency
from bench.floor import Floor
from bench.machine import load_average, machine_info
from bench.operations import measure_operations, warm_up_moto
from bench.options import Options, parse_options
from bench.report import render_markdown
from bench.results import write_results
from bench.served import measure_served
from bench.servers import BareWsgiServer, expect, instrumented_broker
from testing.harness import REGION, Backend, BrokerServer, OSBClient

STARTED = time.perf_counter()


def progress(message: str) -> None:
    """Progress goes to stderr, so stdout holds the report alone."""
    print(f"[{time.perf_counter() - STARTED:6.1f} s] {message}", file=sys.stderr, flush=True)


@contextmanager
def moto_backend() -> Iterator[Backend]:
    backend = Backend.start()
    try:
        yield backend
    finally:
        backend.moto.stop()


def freeze_garbage() -> None:
    """Collect, then exempt every object alive now from later full collections.

    The broker runs inside this process, and this process also holds matplotlib, the floor's
    clients and the harness: a full collection here took about 230 ms and landed in whichever
    request was running (a broker-only process pauses about 80 ms; see the report). Freezing
    what setup made keeps the bench's own heap from being charged to the broker.
    """
    gc.collect()
    gc.freeze()


class Timer:
    """Seconds per section, for the report and for keeping an eye on the time budget."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def run(self, name: str, work: Callable[[], Any]) -> Any:
        progress(f"{name} ...")
        freeze_garbage()
        started = time.perf_counter()
        result = work()
        self.seconds[name] = round(time.perf_counter() - started, 1)
        progress(f"{name} done in {self.seconds[name]:.0f} s")
        return result


def operations(
    server: BrokerServer, recorder: AwsCallRecorder, backend: Backend, floor: Floor, rounds: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    osb = server.osb()
    catalog = expect(osb.catalog(), 200).content
    with BareWsgiServer(catalog) as bare:
        bare_client = OSBClient(bare.url, (server.settings.broker_username, server.settings.broker_password))
        warm_up_moto(
            Floor(backend.moto.endpoint, REGION, backend.broker, backend.permissions_boundary_arn), bare_client
        )
        found, calls = measure_operations(osb, recorder, backend.broker.access_key_id, floor, bare_client, rounds)
    return [asdict(result) for result in found], [asdict(call) for call in calls]


def instrumentation(recorder: AwsCallRecorder) -> dict[str, Any]:
    return {
        "botocore_sessions_hooked": recorder.sessions_attached,
        "key_probe_hooked": recorder.key_probe_hooked,
        "how": "botocore before-send/after-call hooks on the broker's botocore session; "
        "broker.aws.probe.KeyProbe.refusal wrapped for the probe it signs itself",
    }


def first_backend_sections(options: Options, timer: Timer, results: dict[str, Any]) -> None:
    """Operations, concurrency and the gunicorn comparison share one moto; it holds no leftovers between them."""
    with moto_backend() as backend:
        recorder = AwsCallRecorder()
        floor = Floor(backend.moto.endpoint, REGION, backend.broker, backend.permissions_boundary_arn)
        with instrumented_broker(backend, recorder) as server:
            results["instrumentation"] = instrumentation(recorder)
            if "operations" in options.sections:
                results["operations"], results["aws_call_latency"] = timer.run(
                    "operations", lambda: operations(server, recorder, backend, floor, options.rounds)
                )
            if "concurrency" in options.sections:
                bursts = timer.run(
                    "concurrency",
                    lambda: measure_concurrency(server, floor, options.binds_at_once, options.provisions_at_once),
                )
                results["concurrency"] = [asdict(burst) for burst in bursts]
        if "throughput" in options.sections:
            run = timer.run(
                "throughput",
                lambda: measure_served(
                    backend,
                    options.load_threads,
                    options.load_seconds,
                    options.served_rounds,
                    options.binds_at_once,
                    progress,
                ),
            )
            results["served"] = asdict(run)


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    timer = Timer()
    results: dict[str, Any] = {"machine": machine_info(), "options": {**asdict(options), "results_dir": None}}
    first_backend_sections(options, timer, results)
    results["machine"]["load_average_at_end"] = load_average()
    results["section_seconds"] = timer.seconds
    results["total_seconds"] = round(time.perf_counter() - STARTED, 1)
    markdown = render_markdown(results)
    paths = write_results(results, markdown, options.results_dir)
    print(markdown)
    progress("wrote " + ", ".join(str(path) for path in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
