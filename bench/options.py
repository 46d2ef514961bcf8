"""The bench's command-line options; the defaults fit the whole run in about five minutes on two cores."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

SECTIONS = ("operations", "concurrency", "throughput")
DEFAULT_RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Options:
    rounds: int
    binds_at_once: int
    provisions_at_once: int
    load_seconds: float
    load_threads: int
    served_rounds: int
    sections: list[str]
    results_dir: Path


def section_list(text: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    return [section for section in SECTIONS if section in chosen]


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=40, help="rounds of every operation (default 40)")
    parser.add_argument("--binds-at-once", type=int, default=50, help="concurrent binds on one instance (50)")
    parser.add_argument("--provisions-at-once", type=int, default=20, help="concurrent provisions (20)")
    parser.add_argument(
        "--load-seconds", type=float, default=3.0, help="catalog load under gunicorn per round, set-up and app (3)"
    )
    parser.add_argument("--load-threads", type=int, default=4, help="threads per catalog load process (4, in 2)")
    parser.add_argument(
        "--served-rounds", type=int, default=3, help="rounds of the gunicorn comparison, a fresh server each (3)"
    )
    parser.add_argument(
        "--sections", type=section_list, default=list(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}"
    )
    parser.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS, help="where latest.* are written")
    args = parser.parse_args(argv)
    return Options(
        rounds=args.rounds,
        binds_at_once=args.binds_at_once,
        provisions_at_once=args.provisions_at_once,
        load_seconds=args.load_seconds,
        load_threads=args.load_threads,
        served_rounds=args.served_rounds,
        sections=args.sections,
        results_dir=args.results_dir,
    )
