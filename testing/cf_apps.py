"""The cf stand-in's operator commands: push the broker as Cloud Foundry runs it, set its
environment, start it, register it. `cf push` starts the Procfile's command from CF_APP_PYTHON's
virtualenv (testing/production_venv.py: requirements.txt alone, what the buildpack installs)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import yaml

from testing import cloud_controller as cc
from testing.cc_jobs import CfError
from testing.cf_platform import USER, USER_GUID, WHERE, Platform
from testing.procfile import procfile_command


def manifest() -> dict[str, Any]:
    return yaml.safe_load(Path("manifest.yml").read_text())["applications"][0]


def app_of(p: Platform, name: str) -> dict[str, Any]:
    return p.state.data["apps"].setdefault(name, {"env": {}})


def set_env(p: Platform, app: str, name: str, value: str) -> list[str]:
    app_of(p, app)["env"][name] = value
    return [
        f"Setting env variable {name} for app {app} {WHERE}",
        "OK",
        "",
        f"TIP: Use 'cf restage {app}' to ensure your env variable changes take effect",
        "",
    ]


def push(p: Platform) -> list[str]:
    name = manifest()["name"]
    lines = [f"Pushing app {name} to org {WHERE.removeprefix('in org ')}"]
    stop(app_of(p, name))
    if p.options.no_start:
        return [*lines, "OK", ""]
    return [*lines, *start(p, name)[1:]]


def start(p: Platform, name: str) -> list[str]:
    """Start the Procfile's command with the manifest's and cf set-env's variables, as a CF container would."""
    app = app_of(p, name)
    stop(app)
    port = free_port()
    python = Path(os.environ["CF_APP_PYTHON"])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BROKER_", "CF_"))},
        "PATH": f"{python.parent}:{os.environ.get('PATH', '')}",  # the buildpack's Python first
        **{k: str(v) for k, v in manifest().get("env", {}).items()},
        **app["env"],
        "AWS_ENDPOINT_URL": os.environ["CF_AWS_ENDPOINT_URL"],  # the platform's AWS: the tests' local one
        "VCAP_APPLICATION": json.dumps({"application_name": name}),
        "PORT": str(port),
    }
    process = subprocess.Popen(
        procfile_command("--bind", f"127.0.0.1:{port}", python=python),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ["CF_APP_LOG"], "a"),  # noqa: SIM115 - the app outlives this command
        start_new_session=True,
    )
    app.update(pid=process.pid, url=f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CfError(f"Start unsuccessful\n\nTIP: use 'cf logs {name} --recent' for more information")
        try:
            if requests.get(f"{app['url']}/health", timeout=2).status_code == 200:
                return [
                    f"Starting app {name} {WHERE}",
                    "",
                    f"Waiting for app {name} to start...",
                    "",
                    f"name:              {name}",
                    "requested state:   started",
                    f"routes:            {app['url']}",
                ]
        except requests.RequestException:
            time.sleep(0.2)
    raise CfError("Start app timeout")


def restart(p: Platform, name: str) -> list[str]:
    started = start(p, name)
    return [f"Restarting app {name} {WHERE}", "", "Stopping app...", "", *started[2:]]


def stop(app: dict[str, Any]) -> None:
    if app.get("pid"):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(app["pid"], signal.SIGTERM)
        app["pid"] = None


def create_service_broker(p: Platform, name: str, user: str, password: str, url: str) -> list[str]:
    """CC reads the catalog with the credentials it was given, and keeps it."""
    app = urlsplit(url).hostname.split(".")[0]  # type: ignore[union-attr]  # the router: https://APP.DOMAIN
    routed = p.state.data["apps"].get(app, {}).get("url")
    if not routed:
        raise CfError(f"The service broker could not be reached: {url}")
    answer = cc.BrokerClient(routed, (user, password)).catalog(USER_GUID)
    if answer.status != 200:
        raise CfError(cc.failure(answer))
    p.state.data.update(broker={"app": app, "auth": f"{user}:{password}"}, catalog=answer.body["services"])
    return [f"Creating service broker {name} as {USER}...", "OK", ""]


def enable_service_access(p: Platform, offering: str) -> list[str]:
    service = p.service(offering)
    return [f"Enabling access to all plans of service offering {service['name']} for all orgs as {USER}...", "OK", ""]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
