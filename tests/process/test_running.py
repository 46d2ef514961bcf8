"""The broker as operators run it: gunicorn from the Procfile's config, `python -m broker` locally."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from testing.clients import s3_with
from testing.harness import REPO, free_port, new_id
from testing.processes import clean_env, osb, procfile_command, running


def test_python_m_broker_serves_on_its_embedded_backend_and_prints_how_to_call_it() -> None:
    port, aws_port = free_port(), free_port()
    # Keys limited to loopback (issue 16: moto used to deny every key under this Deny).
    loopback = {"ALLOWED_SOURCE_CIDRS": "127.0.0.0/8"}
    env = clean_env(PORT=str(port), LOCAL_AWS_PORT=str(aws_port), WEB_CONCURRENCY="2", **loopback)
    with running([sys.executable, "-m", "broker"], env, port) as process:
        auth = ("broker", "")
        catalog = None
        # The password is made up and printed; read it from the banner.
        output = ""
        assert process.stdout is not None
        while "password" not in output:
            output += process.stdout.readline()
        output += process.stdout.readline() + process.stdout.readline()
        password = re.search(r"password (\S+)", output).group(1)  # type: ignore[union-attr]
        auth = ("broker", password)
        assert f"curl -s -H 'X-Broker-API-Version: 2.17' http://broker:{password}@127.0.0.1:{port}/v2/catalog" in output
        catalog = osb(port, auth, "GET", "/v2/catalog")
        assert catalog.status_code == 200
        instance_id = new_id()
        body = {
            "service_id": catalog.json()["services"][0]["id"],
            "plan_id": catalog.json()["services"][0]["plans"][0]["id"],
            "organization_guid": "org",
            "space_guid": "space",
        }
        assert osb(port, auth, "PUT", f"/v2/service_instances/{instance_id}", json=body).status_code == 201
        bound = osb(port, auth, "PUT", f"/v2/service_instances/{instance_id}/service_bindings/{new_id()}", json=body)
        assert bound.status_code == 201, bound.text
        assert bound.json()["credentials"]["endpoint"] == f"http://127.0.0.1:{aws_port}"
        key = s3_with(bound.json()["credentials"])
        key.put_object(Bucket=bound.json()["credentials"]["bucket"], Key="k", Body=b"from loopback")
        assert key.get_object(Bucket=bound.json()["credentials"]["bucket"], Key="k")["Body"].read() == b"from loopback"
        # The local backend's admin API (every secret key, the enforcement switch) needs its token.
        assert requests.get(f"http://127.0.0.1:{aws_port}/moto-api/data.json", timeout=10).status_code == 403
        # Both workers answer from the one moto server the master started.
        for _ in range(10):
            assert osb(port, auth, "GET", f"/v2/service_instances/{instance_id}").status_code == 200
        assert osb(port, ("broker", "wrong"), "GET", "/v2/catalog").status_code == 401


def test_procfile_command_serves_metrics_behind_auth() -> None:
    port, aws_port = free_port(), free_port()
    env = clean_env(PORT=str(port), LOCAL_AWS_PORT=str(aws_port), BROKER_USERNAME="op", BROKER_PASSWORD="pw")
    with running(procfile_command(), env, port):
        assert osb(port, ("op", "pw"), "GET", "/v2/catalog").status_code == 200
        assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 401
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", auth=("op", "pw"), timeout=10)
        assert metrics.status_code == 200
        assert "s3_broker_requests_total" in metrics.text


def test_on_cloud_foundry_it_refuses_to_start_without_aws_settings() -> None:
    port = free_port()
    env = clean_env(PORT=str(port), VCAP_APPLICATION=json.dumps({"application_name": "s3-broker"}))
    result = subprocess.run(
        [sys.executable, "-m", "broker"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "refusing to start" in result.stderr
    assert "BROKER_USERNAME" in result.stderr and "AWS_ACCESS_KEY_ID" in result.stderr
    assert "embedded" not in result.stdout


@pytest.mark.parametrize("when", ["while it starts", "once it serves"])
def test_ctrl_c_stops_python_m_broker_without_a_traceback(when: str, tmp_path: Path) -> None:
    """Ctrl-C signals the terminal's whole foreground job: the master, its workers, the local AWS."""
    port, aws_port = free_port(), free_port()
    env = clean_env(PORT=str(port), LOCAL_AWS_PORT=str(aws_port))
    errors = tmp_path / "stderr"
    with errors.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "broker"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
        try:
            assert process.stdout is not None
            while "export B=" not in process.stdout.readline():
                assert process.poll() is None
            if when == "once it serves":
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    with contextlib.suppress(requests.RequestException):
                        if requests.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                            break
                    time.sleep(0.1)
            os.killpg(process.pid, signal.SIGINT)
            process.communicate(timeout=20)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    assert process.returncode in (0, 130)
    assert "Traceback" not in errors.read_text() and "Exception ignored" not in errors.read_text()
