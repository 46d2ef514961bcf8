"""Every test module sits in a tier: unit (pure), service (in-process against the local AWS) or process."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


def test_every_test_module_is_in_a_tier() -> None:
    loose = sorted(path.name for path in TESTS.glob("test_*.py"))
    assert not loose, f"move {loose} into tests/unit, tests/service or tests/process (see the README's layout)"
    assert {path.parent.name for path in TESTS.glob("*/test_*.py")} == {"unit", "service", "process"}
