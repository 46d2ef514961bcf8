"""A virtualenv with requirements.txt alone: what the Python buildpack installs on Cloud Foundry.

Nothing of requirements-local.txt or requirements-dev.txt is in it, so a package the Procfile's
command needs but only the dev venv has (as `packaging` once was) makes it fail here. pip's own
cache spares the downloads of a rebuild (about 20 s); the built venv is kept in the temporary
directory, named by a hash of requirements.txt and the Python version, so repeated local runs
reuse it. With CI set, it is built afresh in a directory of its own every run, and removed at the end.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

from testing.procfile import REPO

REQUIREMENTS = REPO / "requirements.txt"


def _digest() -> str:
    made_from = REQUIREMENTS.read_bytes() + sys.version.encode()
    return hashlib.sha256(made_from).hexdigest()[:16]


@cache
def production_venv() -> Path:
    """The root of the production virtualenv, built if it is not there yet (safe across processes)."""
    if os.environ.get("CI"):
        root = Path(tempfile.mkdtemp(prefix="s3-broker-production-")) / "venv"
        atexit.register(shutil.rmtree, root.parent, ignore_errors=True)
        _build(root)
        return root
    root = Path(tempfile.gettempdir()) / f"s3-broker-production-{_digest()}"
    with open(f"{root}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another pytest process may be building the same venv
        if not (root / "complete").exists():
            shutil.rmtree(root, ignore_errors=True)
            _build(root)
    return root


def production_python() -> Path:
    return production_venv() / "bin" / "python"


def _build(root: Path) -> None:
    # Not this interpreter's environment: neither the dev venv's packages nor its PYTHONPATH.
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(root)], check=True, env=env)
    subprocess.run(
        [str(root / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
        check=True,
        env=env,
    )
    (root / "complete").write_text(_digest())
