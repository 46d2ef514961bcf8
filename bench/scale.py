"""Provision and bind latency with thousands of existing instances and bindings, broker and floor alike.

The broker lists nothing, so its own cost should stay flat; moto's per-request cost may grow
(with enforcement on it scans users' keys on every signed request). The floor, measured at each
size, shows moto's share. Latency is measured with IAM enforcement on, and at the largest size
also with it off, to show how much of the growth is moto's enforcement; the bulk of the existing
resources is made with it off (after a timed sample with it on). Each row says its mode.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.awscalls import AwsCallRecorder
from bench.floor import Floor
from bench.operations import Sample, Step, run_steps
from bench.seeding import Seeder, SeedTiming
from bench.servers import expect
from bench.stats import Latency, ratio, summarize
from broker.local import backend
from testing.harness import BASIC, OSBClient, new_id

SCALED_OPERATIONS = ("provision private", "bind")
ENFORCED_SAMPLE = 100  # existing resources made with enforcement on, to time that mode too


@dataclass(frozen=True)
class ScalePoint:
    existing: int  # instances, and as many bindings
    operation: str
    broker: Latency
    floor: Latency
    ratio_median: float | None
    broker_calls: int
    floor_calls: int
    measured_with: str


def broker_steps(osb: OSBClient) -> list[Step]:
    instance, binding = new_id(), new_id()
    return [
        Step("provision private", lambda: expect(osb.provision(instance), 201)),
        Step("bind", lambda: expect(osb.bind(instance, binding), 201)),
        Step(None, lambda: expect(osb.unbind(instance, binding), 200)),
        Step(None, lambda: expect(osb.deprovision(instance), 200)),
    ]


def floor_steps(floor: Floor) -> list[Step]:
    instance, binding = new_id(), new_id()
    return [
        Step("provision private", lambda: floor.provision(instance, BASIC, public=False)),
        Step("bind", lambda: floor.bind(instance, binding)),
        Step(None, lambda: floor.unbind(binding)),
        Step(None, lambda: floor.deprovision(instance)),
    ]


def grow_to(seeder: Seeder, size: int) -> list[SeedTiming]:
    """Add what is missing; the first few ever made are made with enforcement on, to time that mode."""
    missing = size - seeder.made
    enforced = max(0, min(missing, ENFORCED_SAMPLE - seeder.made))
    timings = [seeder.add(enforced, enforced=True), seeder.add(missing - enforced, enforced=False)]
    return [timing for timing in timings if timing.count]


@dataclass
class ScaleRun:
    """What every measurement at every size shares."""

    osb: OSBClient
    recorder: AwsCallRecorder
    own_key: str
    floor: Floor
    rounds: int

    def points(self, existing: int, mode: str) -> list[ScalePoint]:
        broker_rounds: list[dict[str, Sample]] = []
        floor_rounds: list[dict[str, Sample]] = []
        for round_number in range(self.rounds + 1):  # round 0 warms connections and caches up; it is dropped
            sides = ("broker", "floor") if round_number % 2 == 0 else ("floor", "broker")
            for side in sides:
                if side == "broker":
                    broker_rounds.append(run_steps(broker_steps(self.osb), self.recorder, self.own_key))
                else:
                    floor_rounds.append(run_steps(floor_steps(self.floor), self.floor.recorder, self.own_key))
        return [point(existing, mode, name, broker_rounds[1:], floor_rounds[1:]) for name in SCALED_OPERATIONS]

    def points_unenforced(self, existing: int, endpoint: str) -> list[ScalePoint]:
        """The same with moto's IAM enforcement off: what is left of the growth is not the key scan."""
        backend.set_enforcement(endpoint, enforce=False)
        try:
            return self.points(existing, "IAM enforcement off")
        finally:
            backend.set_enforcement(endpoint, enforce=True)


def point(
    existing: int, mode: str, name: str, broker_rounds: list[dict[str, Sample]], floor_rounds: list[dict[str, Sample]]
) -> ScalePoint:
    broker = summarize([r[name].seconds for r in broker_rounds])
    floor = summarize([r[name].seconds for r in floor_rounds])
    return ScalePoint(
        existing=existing,
        operation=name,
        broker=broker,
        floor=floor,
        ratio_median=ratio(broker.median_ms, floor.median_ms),
        broker_calls=max(len(r[name].calls) for r in broker_rounds),
        floor_calls=max(len(r[name].calls) for r in floor_rounds),
        measured_with=mode,
    )


def measure_scale(
    seeder: Seeder, run: ScaleRun, sizes: list[int], progress: Callable[[str], None] = print
) -> tuple[list[ScalePoint], list[SeedTiming]]:
    points: list[ScalePoint] = []
    seeding: list[SeedTiming] = []
    for size in sorted(sizes):
        made = grow_to(seeder, size)
        seeding.extend(made)
        for timing in made:
            progress(
                f"  made {timing.count} instances and bindings with enforcement {timing.enforcement} "
                f"in {timing.seconds:.1f} s ({timing.per_second}/s)"
            )
        points.extend(run.points(size, "IAM enforcement on"))
    points.extend(run.points_unenforced(max(sizes), seeder.backend.moto.endpoint))
    return points, seeding
