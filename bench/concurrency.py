"""Many requests at once against as many one by one, the floor's too: does the broker add queueing of its own?"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from bench.floor import Floor
from bench.servers import expect
from bench.stats import Latency, summarize, timed
from testing.harness import BASIC, BrokerServer, OSBClient, new_id


class OsbServer(Protocol):
    """A broker to send OSB requests to: the bench's in-process server or gunicorn."""

    def osb(self) -> OSBClient: ...


@dataclass(frozen=True)
class BurstResult:
    operation: str
    count: int
    side: str  # "broker" or "floor"
    mode: str  # "at once" or "one by one"
    wall_s: float
    per_second: float
    latency: Latency


def at_once(calls: list[Callable[[], Any]]) -> tuple[float, list[float]]:
    """Start every call in its own thread at the same moment; wall time until the last one ends."""
    barrier = threading.Barrier(len(calls) + 1)

    def run(call: Callable[[], Any]) -> float:
        barrier.wait()
        return timed(call)[0]

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        barrier.wait()
        started = time.perf_counter()
        latencies = [future.result() for future in futures]
        wall = time.perf_counter() - started
    return wall, latencies


def one_by_one(calls: list[Callable[[], Any]]) -> tuple[float, list[float]]:
    started = time.perf_counter()
    latencies = [timed(call)[0] for call in calls]
    return time.perf_counter() - started, latencies


def in_parallel(calls: list[Callable[[], Any]], threads: int = 16) -> None:
    """Clean-up, not measured."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(call) for call in calls]:
            future.result()


def burst(operation: str, side: str, mode: str, calls: list[Callable[[], Any]]) -> BurstResult:
    wall, latencies = (at_once if mode == "at once" else one_by_one)(calls)
    return BurstResult(
        operation, len(calls), side, mode, round(wall, 3), round(len(calls) / wall, 1), summarize(latencies)
    )


def broker_binds(server: OsbServer, count: int, mode: str) -> BurstResult:
    """`count` binds of one instance; each request on its own client, as separate Cloud Controller workers."""
    osb, instance = server.osb(), new_id()
    expect(osb.provision(instance), 201)
    clients = {new_id(): server.osb() for _ in range(count)}  # binding id -> its client
    result = burst(
        "bind", "broker", mode, [lambda b=b, c=c: expect(c.bind(instance, b), 201) for b, c in clients.items()]
    )
    in_parallel([lambda b=b, c=c: expect(c.unbind(instance, b), 200) for b, c in clients.items()])
    expect(osb.deprovision(instance), 200)
    return result


def broker_provisions(server: OsbServer, count: int, mode: str) -> BurstResult:
    clients = {new_id(): server.osb() for _ in range(count)}  # instance id -> its client
    result = burst(
        "provision private", "broker", mode, [lambda i=i, c=c: expect(c.provision(i), 201) for i, c in clients.items()]
    )
    in_parallel([lambda i=i, c=c: expect(c.deprovision(i), 200) for i, c in clients.items()])
    return result


def floor_binds(floor: Floor, count: int, mode: str) -> BurstResult:
    instance, bindings = new_id(), [new_id() for _ in range(count)]
    floor.provision(instance, BASIC, public=False)
    result = burst("bind", "floor", mode, [lambda b=b: floor.bind(instance, b) for b in bindings])
    in_parallel([lambda b=b: floor.unbind(b) for b in bindings])
    floor.deprovision(instance)
    return result


def floor_provisions(floor: Floor, count: int, mode: str) -> BurstResult:
    instances = [new_id() for _ in range(count)]
    result = burst(
        "provision private", "floor", mode, [lambda i=i: floor.provision(i, BASIC, public=False) for i in instances]
    )
    in_parallel([lambda i=i: floor.deprovision(i) for i in instances])
    return result


def measure_concurrency(server: BrokerServer, floor: Floor, binds: int, provisions: int) -> list[BurstResult]:
    results = []
    for mode in ("at once", "one by one"):
        results.append(broker_binds(server, binds, mode))
        results.append(floor_binds(floor, binds, mode))
        results.append(broker_provisions(server, provisions, mode))
        results.append(floor_provisions(floor, provisions, mode))
    return results
