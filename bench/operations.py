"""Each OSB operation, one at a time: its latency, the AWS calls it made, and the same against its floor.

A round makes two fresh instances, reads, updates, binds, unbinds and deletes them, through the
broker and then through the floor (the order swaps every round, so drift in moto's speed hits
both alike). Round 0 is kept apart as the first call: it pays for cold caches and new connections.
moto is warmed up first by a throwaway floor round, since its own first S3 request is slow
(about 150 ms here) and would otherwise be charged to whichever side went first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.awscalls import AwsCallRecorder
from bench.floor import Floor
from bench.servers import expect
from bench.stats import Latency, ratio, summarize, timed
from testing.harness import BASIC, BASIC_PUBLIC, OSBClient, new_id

OPERATIONS = (
    "provision private",
    "provision public",
    "GET instance",
    "update versioning",
    "bind",
    "unbind",
    "deprovision",
    "catalog",
)


@dataclass(frozen=True)
class Step:
    operation: str | None  # None: clean-up, not reported
    call: Callable[[], Any]


@dataclass(frozen=True)
class Sample:
    seconds: float
    calls: tuple[str, ...]


@dataclass(frozen=True)
class OperationResult:
    operation: str
    broker: Latency
    broker_first_ms: float
    broker_calls: list[str]
    broker_call_counts: list[int]  # every distinct count seen over the rounds (one value when stable)
    floor: Latency
    floor_calls: list[str]
    floor_kind: str  # what the floor is: AWS calls, or a bare HTTP round trip for the catalog
    ratio_median: float | None
    ratio_p90: float | None
    over_floor_ms: float


def run_steps(steps: list[Step], recorder: AwsCallRecorder, own_key: str) -> dict[str, Sample]:
    samples: dict[str, Sample] = {}
    for step in steps:
        mark = recorder.mark()
        seconds, _ = timed(step.call)
        if step.operation:
            samples[step.operation] = Sample(seconds, tuple(call.label(own_key) for call in recorder.since(mark)))
    return samples


def broker_steps(osb: OSBClient) -> list[Step]:
    private, public, binding = new_id(), new_id(), new_id()
    return [
        Step("provision private", lambda: expect(osb.provision(private), 201)),
        Step("provision public", lambda: expect(osb.provision(public, BASIC_PUBLIC), 201)),
        Step("GET instance", lambda: expect(osb.get_instance(private), 200)),
        Step("update versioning", lambda: expect(osb.update(private, parameters={"versioning": True}), 200)),
        Step("bind", lambda: expect(osb.bind(private, binding), 201)),
        Step("unbind", lambda: expect(osb.unbind(private, binding), 200)),
        Step("catalog", lambda: expect(osb.catalog(), 200)),
        Step("deprovision", lambda: expect(osb.deprovision(private), 200)),
        Step(None, lambda: expect(osb.deprovision(public, BASIC_PUBLIC), 200)),
    ]


def floor_steps(floor: Floor, bare_http: OSBClient) -> list[Step]:
    private, public, binding = new_id(), new_id(), new_id()
    return [
        Step("provision private", lambda: floor.provision(private, BASIC, public=False)),
        Step("provision public", lambda: floor.provision(public, BASIC_PUBLIC, public=True)),
        Step("GET instance", lambda: floor.get_instance(private)),
        Step("update versioning", lambda: floor.enable_versioning(private, BASIC)),
        Step("bind", lambda: floor.bind(private, binding)),
        Step("unbind", lambda: floor.unbind(binding)),
        Step("catalog", lambda: expect(bare_http.catalog(), 200)),
        Step("deprovision", lambda: floor.deprovision(private)),
        Step(None, lambda: floor.deprovision(public)),
    ]


def warm_up_moto(throwaway: Floor, bare_http: OSBClient) -> None:
    """One floor round on clients that are then thrown away, so moto's first-request costs are paid."""
    run_steps(floor_steps(throwaway, bare_http), throwaway.recorder, throwaway.identity.access_key_id)


def measure_operations(
    osb: OSBClient, recorder: AwsCallRecorder, own_key: str, floor: Floor, bare_http: OSBClient, rounds: int
) -> list[OperationResult]:
    broker_rounds: list[dict[str, Sample]] = []
    floor_rounds: list[dict[str, Sample]] = []
    for round_number in range(rounds + 1):
        broker_first = round_number % 2 == 0
        for side in ("broker", "floor") if broker_first else ("floor", "broker"):
            if side == "broker":
                broker_rounds.append(run_steps(broker_steps(osb), recorder, own_key))
            else:
                floor_rounds.append(run_steps(floor_steps(floor, bare_http), floor.recorder, own_key))
    return [summarize_operation(name, broker_rounds, floor_rounds) for name in OPERATIONS]


def summarize_operation(
    name: str, broker_rounds: list[dict[str, Sample]], floor_rounds: list[dict[str, Sample]]
) -> OperationResult:
    broker_samples = [r[name] for r in broker_rounds[1:]]
    floor_samples = [r[name] for r in floor_rounds[1:]]
    broker = summarize([s.seconds for s in broker_samples])
    floor = summarize([s.seconds for s in floor_samples])
    return OperationResult(
        operation=name,
        broker=broker,
        broker_first_ms=round(broker_rounds[0][name].seconds * 1000, 2),
        broker_calls=list(typical_calls(broker_samples)),
        broker_call_counts=sorted({len(s.calls) for s in broker_samples}),
        floor=floor,
        floor_calls=list(typical_calls(floor_samples)),
        floor_kind="bare WSGI round trip" if name == "catalog" else "AWS calls",
        ratio_median=ratio(broker.median_ms, floor.median_ms),
        ratio_p90=ratio(broker.p90_ms, floor.p90_ms),
        over_floor_ms=round(broker.median_ms - floor.median_ms, 2),
    )


def typical_calls(samples: list[Sample]) -> tuple[str, ...]:
    """The call list most rounds made, in the order they were sent (concurrent calls may swap places)."""
    by_content = Counter(tuple(sorted(s.calls)) for s in samples)
    most_common = by_content.most_common(1)[0][0]
    return next(s.calls for s in samples if tuple(sorted(s.calls)) == most_common)
