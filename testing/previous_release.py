"""The previous release of the broker, from git history, served from its own tree.

The layout of the package changed in this release, so the previous one is not imported: its
tree is exported from git (`git archive`) and started with its own Procfile command, with this
environment's Python, against the same local AWS as the release under test.
"""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from testing.harness import free_port
from testing.procfile import REPO

# The last commit before versions and upgrades: what platforms run when they upgrade to this release.
PREVIOUS_RELEASE = "0ce6822d1e182f64ffbf336f6f7c58cbf09e6b6f"


def export(commit: str, into: Path) -> Path | None:
    """The tree of `commit` written under `into`; None when this checkout has no such history."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", commit], capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


@contextmanager
def serve(tree: Path, settings: dict[str, str]) -> Iterator[str]:
    """Serve the tree with its own Procfile's web command and `settings` as its environment; yield its URL."""
    words = next(
        shlex.split(line.partition(":")[2])
        for line in (tree / "Procfile").read_text().splitlines()
        if line.partition(":")[0].strip() == "web"
    )
    command = [str(Path(sys.executable).parent / words[0]), *words[1:]]
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "BROKER_", "VCAP_"))}
    env.update(PORT=str(port), WEB_CONCURRENCY="1", **settings)
    log = tree / "broker.log"  # a file, not a pipe: a full pipe would stall the server
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=tree, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the previous release exited: {log.read_text()[-2000:]}")
            try:
                if requests.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
