"""Running the broker as operators do, in a process of its own: `python -m broker` or the Procfile's gunicorn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from testing.harness import REGION, REPO, Backend
from testing.procfile import SHORT_WAITS, procfile_command

__all__ = [
    "aws_env",
    "cf_env",
    "clean_env",
    "operator_command",
    "osb",
    "procfile_command",
    "running",
    "served_settings",
]


def clean_env(**extra: str) -> dict[str, str]:
    """The machine's environment without any AWS account, proxy or broker settings, with SHORT_WAITS, plus `extra`."""
    dropped = ("AWS_", "BROKER_", "VCAP_", "PROMETHEUS_", "GUNICORN_KEEPALIVE", "BODY_DEADLINE")
    proxies = {"http_proxy", "https_proxy", "no_proxy", "all_proxy"}
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped) and k.lower() not in proxies}
    env["PATH"] = f"{os.path.dirname(sys.executable)}:{env.get('PATH', '')}"
    return {**env, **SHORT_WAITS, **extra}


def aws_env(backend: Backend) -> dict[str, str]:
    """The broker's AWS settings with the test backend as its AWS, as operators point it at AWS."""
    return {
        "AWS_ENDPOINT_URL": backend.moto.endpoint,
        "AWS_ACCESS_KEY_ID": backend.broker.access_key_id,
        "AWS_SECRET_ACCESS_KEY": backend.broker.secret_access_key,
        "AWS_REGION": REGION,
        "IAM_PERMISSIONS_BOUNDARY_ARN": backend.permissions_boundary_arn,
    }


def served_settings(backend: Backend, auth: tuple[str, str]) -> dict[str, str]:
    """What a broker served from the Procfile's command is given: its own credentials and the test backend as AWS."""
    return {"BROKER_USERNAME": auth[0], "BROKER_PASSWORD": auth[1], **aws_env(backend), "LOG_LEVEL": "WARNING"}


def operator_command(backend: Backend, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """`python -m broker ARGS...` as an operator runs it: the broker's key and the backend's address, nothing else."""
    env = {**extra, **aws_env(backend)}
    return subprocess.run(
        [sys.executable, "-m", "broker", *args],
        cwd=REPO,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )


@contextmanager
def running(command: list[str], env: dict[str, str], port: int) -> Iterator[subprocess.Popen[str]]:
    """Start the command, wait until /health answers on `port`, stop it (SIGTERM) when done."""
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or workers still booting
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=20)


def osb(port: int, auth: tuple[str, str], method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"X-Broker-API-Version": "2.17", **kwargs.pop("headers", {})}
    return requests.request(method, f"http://127.0.0.1:{port}{path}", auth=auth, headers=headers, timeout=30, **kwargs)


def cf_env(backend: Backend, port: int, **overrides: str) -> dict[str, str]:
    """The environment of a broker on Cloud Foundry, with the test backend as its AWS."""
    settings = backend.settings()
    values = {
        "VCAP_APPLICATION": json.dumps({"application_name": "s3-broker", "space_name": "test"}),
        "PORT": str(port),
        "BROKER_USERNAME": "cc",
        "BROKER_PASSWORD": "cf-password",
        "AWS_REGION": settings.aws_region,
        "AWS_ENDPOINT_URL": settings.aws_endpoint_url or "",
        "AWS_ACCESS_KEY_ID": settings.aws_access_key_id or "",
        "AWS_SECRET_ACCESS_KEY": settings.aws_secret_access_key or "",
        "IAM_PERMISSIONS_BOUNDARY_ARN": backend.permissions_boundary_arn,
    }
    return clean_env(**{**values, **overrides})
