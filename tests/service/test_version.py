"""One version, written once in broker/__init__.py, read by everything that tells it: the catalog's
metadata, every log line, the User-Agent of every AWS call (CloudTrail's userAgent), the CLI."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from broker import __version__
from broker.aws.clients import make_clients
from broker.logs import JsonFormatter
from broker.server import startup
from testing.harness import REPO, Backend, OSBClient


def test_the_version_is_a_release_number_the_changelog_describes() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    assert f"## [{__version__}]" in (REPO / "CHANGELOG.md").read_text()


def test_the_catalog_says_which_release_serves_it(osb: OSBClient) -> None:
    (service,) = osb.catalog().json()["services"]
    assert service["metadata"]["brokerVersion"] == __version__
    assert service["metadata"]["displayName"] == "Amazon S3"  # the operator's metadata stays


def test_every_log_line_carries_the_version() -> None:
    record = logging.LogRecord("broker.audit", logging.INFO, __file__, 1, "provision %s", ("done",), None)
    line = json.loads(JsonFormatter().format(record))
    assert line["version"] == __version__ and line["message"] == "provision done"


def test_aws_calls_name_the_release_in_their_user_agent(backend: Backend) -> None:
    clients = make_clients(backend.settings(backend.admin))  # the admin may list buckets
    sent: list[str] = []

    def remember(request: Any, **_: Any) -> None:
        agent = request.headers["User-Agent"]
        sent.append(agent.decode() if isinstance(agent, bytes) else agent)

    for client in (clients.sts, clients.iam, clients.s3):
        client.meta.events.register("before-send", remember)
    clients.sts.get_caller_identity()
    clients.iam.list_users(PathPrefix="/cf-s3-broker/")
    clients.s3.list_buckets()
    assert len(sent) == 3 and all(f"s3-broker/{__version__}" in agent for agent in sent)


def aws_environment(**more: str) -> dict[str, str]:
    return {
        "BROKER_USERNAME": "broker",
        "BROKER_PASSWORD": "broker-password",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "example",
        **more,
    }


def test_the_placeholder_documentation_url_is_warned_of_once_at_start(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    with caplog.at_level(logging.WARNING, logger="broker.server.startup"):
        startup.prepare_environment(aws_environment())
    (warning,) = caplog.records
    assert "metadata.documentationUrl" in warning.getMessage() and "YOUR-ORG" in warning.getMessage()
    caplog.clear()
    edited = tmp_path / "catalog.yml"
    shipped = (REPO / "catalog.yml").read_text()
    edited.write_text(shipped.replace("https://github.com/YOUR-ORG/", "https://docs.example.com/"))
    with caplog.at_level(logging.WARNING, logger="broker.server.startup"):
        startup.prepare_environment(aws_environment(CATALOG_PATH=str(edited)))
    assert caplog.records == []
