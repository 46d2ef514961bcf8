"""Writing latest.json, latest.md and latest.png, each whole or not at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.chart import write_chart


def write_atomically(path: Path, text: str) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)


def write_results(results: dict[str, Any], markdown: str, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / "latest.json", directory / "latest.md", directory / "latest.png"]
    write_atomically(paths[0], json.dumps(results, indent=2) + "\n")
    write_atomically(paths[1], markdown)
    write_chart(results, paths[2])
    return paths
