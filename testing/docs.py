"""Run the shell blocks of a Markdown document, as a reader pastes them, against a running broker."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from testing.harness import REPO

FENCE = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)


def sh_blocks(document: Path, section: str) -> list[str]:
    """The ```sh blocks of the section headed `section`, up to the next heading (outside code blocks)."""
    lines = document.read_text().splitlines(keepends=True)
    start = lines.index(f"## {section}\n")
    in_fence, end = False, len(lines)
    for number in range(start + 1, len(lines)):
        if lines[number].startswith("```"):
            in_fence = not in_fence
        elif not in_fence and re.match(r"#{1,6} ", lines[number]):
            end = number
            break
    return FENCE.findall("".join(lines[start:end]))


def run_sh(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The script in bash with errors fatal (as a careful reader would notice them), from the repository root."""
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
