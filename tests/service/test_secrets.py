"""Secrets never reach logs or tags, even with the broker logging at DEBUG."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from broker.logs import JsonFormatter
from testing.harness import Backend, BrokerServer, new_id


@pytest.fixture
def debug_broker(backend: Backend) -> Iterator[BrokerServer]:
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", "broker", "openbrokerapi", "botocore", "urllib3")}
    with BrokerServer(replace(backend.settings(), log_level="DEBUG")) as server:
        yield server
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    root.setLevel(levels[""])


def test_no_secret_in_logs_or_tags_at_debug(
    debug_broker: BrokerServer, caplog: pytest.LogCaptureFixture, s3: Any, iam: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    osb = debug_broker.osb()
    instance_id, binding_id = new_id(), new_id()
    assert osb.provision(instance_id, parameters={"tags": {"team": "a"}}).status_code == 201
    credentials = osb.bind(instance_id, binding_id).json()["credentials"]
    assert osb.bind(instance_id, binding_id).status_code == 200  # a fresh key on the repeat
    assert osb.unbind(instance_id, binding_id).status_code == 200

    password = debug_broker.settings.broker_password
    basic = base64.b64encode(f"{debug_broker.settings.broker_username}:{password}".encode()).decode()
    logged = caplog.text
    assert "provisioned instance" in logged  # the capture works
    for secret in (credentials["secret_access_key"], password, basic, debug_broker.settings.aws_secret_access_key):
        assert secret and secret not in logged
    bucket_tags = s3.get_bucket_tagging(Bucket=f"cf-s3-{instance_id}")["TagSet"]
    assert credentials["secret_access_key"] not in str(bucket_tags)


def test_no_secret_in_the_json_log_lines_at_debug(debug_broker: BrokerServer) -> None:
    """What operators ship from stderr: the JSON lines, audit records included."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        osb = debug_broker.osb()
        instance_id, binding_id = new_id(), new_id()
        assert osb.provision(instance_id).status_code == 201
        credentials = osb.bind(instance_id, binding_id).json()["credentials"]
        assert osb.unbind(instance_id, binding_id).status_code == 200
        assert osb.deprovision(instance_id).status_code == 200
    finally:
        root.removeHandler(handler)

    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    audit = [entry for entry in entries if entry["logger"] == "broker.audit"]
    assert [entry["operation"] for entry in audit] == ["provision", "bind", "unbind", "deprovision"]
    assert audit[1]["originating_identity"] == {"platform": "cloudfoundry", "user": {"user_id": "test-user"}}
    password = debug_broker.settings.broker_password
    basic = base64.b64encode(f"{debug_broker.settings.broker_username}:{password}".encode()).decode()
    for secret in (credentials["secret_access_key"], password, basic, debug_broker.settings.aws_secret_access_key):
        assert secret and secret not in stream.getvalue()
