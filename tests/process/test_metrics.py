"""/metrics counts every gunicorn worker's requests, whichever worker answers the scrape."""

from __future__ import annotations

import re
from pathlib import Path

import requests

from testing.harness import Backend, free_port
from testing.processes import cf_env, osb, procfile_command, running

AUTH = ("cc", "cf-password")
MAX_REQUESTS = 400  # a bound on the loop below, not a timing


def catalog_count(text: str) -> int:
    found = re.search(r'^s3_broker_requests_total\{endpoint="catalog",status="200"\} (\S+)$', text, re.MULTILINE)
    return int(float(found.group(1))) if found else 0


def workers_that_counted(metrics_dir: Path) -> set[str]:
    return {match.group(1) for path in metrics_dir.glob("*.db") if (match := re.search(r"_(\d+)\.db$", path.name))}


def test_a_scrape_sums_the_requests_of_both_workers(backend: Backend, tmp_path: Path) -> None:
    port = free_port()
    # The gunicorn master makes its metrics directory under TMPDIR: here, where the test can see it.
    env = cf_env(backend, port, WEB_CONCURRENCY="2", TMPDIR=str(tmp_path))
    with running(procfile_command("--bind", f"127.0.0.1:{port}"), env, port):
        (metrics_dir,) = tmp_path.glob("s3-broker-metrics-*")
        sent = 0
        # Each request on a new connection, until both workers have answered some (the kernel
        # hands connections to whichever worker accepts first).
        while sent < MAX_REQUESTS and (sent < 20 or len(workers_that_counted(metrics_dir)) < 2):
            assert osb(port, AUTH, "GET", "/v2/catalog").status_code == 200
            sent += 1
        assert len(workers_that_counted(metrics_dir)) == 2
        for _ in range(6):  # scrapes land on either worker; each sees every request
            scrape = requests.get(f"http://127.0.0.1:{port}/metrics", auth=AUTH, timeout=10)
            assert scrape.status_code == 200
            assert catalog_count(scrape.text) == sent
            assert 's3_broker_request_seconds_count{endpoint="catalog"}' in scrape.text
    assert not metrics_dir.exists()  # removed when the master exits
