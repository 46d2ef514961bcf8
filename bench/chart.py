"""latest.png: latency per operation against its floor, latency against the number of existing instances,
and the catalog's CPU per request under gunicorn against a bare openbrokerapi app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on CI machines or over ssh (set before pyplot is used)

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

BROKER_COLOUR = "#1f77b4"
FLOOR_COLOUR = "#b0b0b0"


def upper_error(latencies: list[dict[str, float]]) -> list[list[float]]:
    """Error bars from the median up to p90 only (latency is skewed upwards)."""
    return [[0.0] * len(latencies), [lat["p90_ms"] - lat["median_ms"] for lat in latencies]]


def operations_panel(axes: Axes, operations: list[dict[str, Any]]) -> None:
    names = [op["operation"] for op in operations]
    positions = list(range(len(names)))
    height = 0.38
    series = (
        ("broker", -height / 2, BROKER_COLOUR, "broker (median, bar to p90)"),
        ("floor", height / 2, FLOOR_COLOUR, "floor: same AWS calls straight with boto3 (catalog: bare WSGI)"),
    )
    for side, offset, colour, label in series:
        latencies = [op[side] for op in operations]
        axes.barh(
            [p + offset for p in positions],
            [lat["median_ms"] for lat in latencies],
            height,
            xerr=upper_error(latencies),
            color=colour,
            capsize=3,
            label=label,
        )
    for position, op in zip(positions, operations, strict=True):
        if op["ratio_median"]:
            end = op["broker"]["p90_ms"]
            axes.text(end + 1, position - height / 2, f"{op['ratio_median']:.2f}x", va="center", fontsize=8)
    axes.set_yticks(positions, names)
    axes.invert_yaxis()
    axes.set_xlabel("latency, ms")
    axes.set_title("Each operation, one at a time")
    axes.legend(loc="lower right", fontsize=8)
    axes.grid(axis="x", alpha=0.3)


def served_panel(axes: Axes, catalog: list[dict[str, Any]]) -> None:
    """Catalog CPU per request under gunicorn, broker against the bare app, RSS per worker written on each bar."""
    setups = list(dict.fromkeys(s["setup"] for s in catalog))
    height = 0.38
    for offset, app, colour in (
        (-height / 2, "broker", BROKER_COLOUR),
        (height / 2, "bare openbrokerapi", FLOOR_COLOUR),
    ):
        rows = [next(s for s in catalog if s["setup"] == setup and s["app"] == app) for setup in setups]
        medians = [r["cpu_ms_per_request"]["median"] for r in rows]
        errors = [
            [m - r["cpu_ms_per_request"]["min"] for m, r in zip(medians, rows, strict=True)],
            [r["cpu_ms_per_request"]["max"] - m for m, r in zip(medians, rows, strict=True)],
        ]
        positions = [p + offset for p in range(len(setups))]
        axes.barh(positions, medians, height, xerr=errors, color=colour, capsize=3, label=app)
        for position, row in zip(positions, rows, strict=True):
            end = row["cpu_ms_per_request"]["max"]  # past the error bar
            axes.text(end * 1.03, position, f"{row['worker_rss_mib_max']} MiB/worker", va="center", fontsize=8)
    axes.set_yticks(range(len(setups)), setups)
    axes.invert_yaxis()
    axes.set_xlabel("worker CPU ms per GET /v2/catalog (median, bar min-max)")
    axes.set_title("Under gunicorn: broker vs bare openbrokerapi")
    axes.set_xlim(right=axes.get_xlim()[1] * 1.5)
    axes.legend(loc="lower right", fontsize=8)
    axes.grid(axis="x", alpha=0.3)


def write_chart(results: dict[str, Any], path: Path) -> None:
    figure, (left, served) = plt.subplots(1, 2, figsize=(14, 5.5), gridspec_kw={"width_ratios": [1.25, 0.9]})
    if "operations" in results:
        operations_panel(left, results["operations"])
    else:
        left.set_axis_off()
    if "served" in results:
        served_panel(served, results["served"]["catalog"])
    else:
        served.set_axis_off()
    machine = results["machine"]
    figure.suptitle(
        f"S3 broker on moto, {machine['nproc']} CPUs {machine['cpu_model']}, {machine['date']}", fontsize=10
    )
    figure.tight_layout()
    # Written beside the target and moved over it, so a reader never sees half a file.
    temporary = path.with_suffix(".png.tmp")
    figure.savefig(temporary, format="png", dpi=110)
    plt.close(figure)
    temporary.replace(path)
