"""Latency samples reduced to the figures the report shows."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Latency:
    """Milliseconds over `n` samples."""

    n: int
    median_ms: float
    p90_ms: float
    p99_ms: float


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the samples lie, interpolated between neighbours."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    position = fraction * (len(sorted_values) - 1)
    below = int(position)
    above = min(below + 1, len(sorted_values) - 1)
    return sorted_values[below] + (sorted_values[above] - sorted_values[below]) * (position - below)


def summarize(seconds: list[float]) -> Latency:
    if not seconds:
        raise ValueError("no samples to summarize")
    ms = sorted(s * 1000 for s in seconds)
    return Latency(
        n=len(ms),
        median_ms=round(statistics.median(ms), 2),
        p90_ms=round(percentile(ms, 0.90), 2),
        p99_ms=round(percentile(ms, 0.99), 2),
    )


def timed(call: Callable[[], T]) -> tuple[float, T]:
    """Run `call`; return how long it took in seconds, and what it returned."""
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def ratio(value: float, floor: float | None) -> float | None:
    return round(value / floor, 2) if floor else None
