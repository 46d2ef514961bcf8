"""`make run` as a newcomer runs it: in a fresh copy of the repository (the Makefile makes its own
.venv there; pip's cache keeps it to tens of seconds), until the catalog answers, then Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from testing.harness import REPO, free_port
from testing.processes import clean_env

INSTALLING = "Installing the Python packages into .venv (first run only, about 30-45 s)..."


def fresh_clone(into: Path) -> Path:
    """The repository's files as a clone of this working tree would have them (tracked or new, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the working tree is not in a clone
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


def newcomer_env(**extra: str) -> dict[str, str]:
    """A shell with no virtualenv active: the dev venv is not on PATH, nothing of make or pytest inherited."""
    env = clean_env(**extra)
    dev_bin = str(Path(sys.executable).parent)
    env["PATH"] = ":".join(part for part in env["PATH"].split(":") if part != dev_bin)
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "MAKEFLAGS", "MAKELEVEL", "MFLAGS"):
        env.pop(name, None)
    return env


def test_make_run_from_a_fresh_clone_serves_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path / "s3-broker")
    assert not (clone / ".venv").exists()
    port, aws_port = free_port(), free_port()
    env = newcomer_env(PORT=str(port), LOCAL_AWS_PORT=str(aws_port))
    # A session of its own, like a terminal's foreground job: Ctrl-C signals make and all it started.
    # stderr to a file: pip and gunicorn write more there than a pipe holds while stdout is read.
    errors = tmp_path / "stderr"
    make = subprocess.Popen(
        ["make", "run"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=errors.open("w"),
        text=True,
        start_new_session=True,
    )
    try:
        assert make.stdout is not None
        banner = ""
        deadline = time.monotonic() + 300
        while "export B=" not in banner and time.monotonic() < deadline:
            line = make.stdout.readline()
            assert line or make.poll() is None, f"make run exited {make.returncode}: {banner}"
            banner += line
        lines = banner.splitlines()
        pip = next(number for number, line in enumerate(lines) if "pip install" in line)
        assert lines[pip - 1] == INSTALLING  # said before pip's silent half-minute, not after
        password = re.search(r"password (\S+)", banner).group(1)  # type: ignore[union-attr]
        # The banner comes before gunicorn listens: ask until the catalog answers.
        catalog = answer(f"http://127.0.0.1:{port}/v2/catalog", ("broker", password), deadline=60)
        assert catalog.status_code == 200 and catalog.json()["services"]
        os.killpg(make.pid, signal.SIGINT)
        stopped = time.monotonic()
        make.communicate(timeout=30)
        assert time.monotonic() - stopped < 15
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
    err = errors.read_text()
    assert "Traceback" not in err and "Exception ignored" not in err, err[-4000:]
    assert "Shutting down: Master" in err
    assert make.returncode in (0, -signal.SIGINT, 2), (make.returncode, err[-2000:])
    assert not answers(f"http://127.0.0.1:{port}/health"), "the broker still answers after Ctrl-C"


def answer(url: str, auth: tuple[str, str], deadline: float) -> requests.Response:
    give_up = time.monotonic() + deadline
    while True:
        try:
            return requests.get(url, auth=auth, headers={"X-Broker-API-Version": "2.15"}, timeout=30)
        except requests.ConnectionError:
            if time.monotonic() > give_up:
                raise
            time.sleep(0.2)


def answers(url: str) -> bool:
    with contextlib.suppress(requests.RequestException):
        requests.get(url, timeout=2)
        return True
    return False
