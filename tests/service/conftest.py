"""Fixtures the in-process service tests share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from testing.harness import BrokerServer


@pytest.fixture
def aws_calls(broker: BrokerServer) -> Iterator[list[str]]:
    """Every AWS call the broker sends while the test runs."""
    calls: list[str] = []
    clients = broker.app.extensions["s3_broker.aws"]

    def record(event_name: str, **_: Any) -> None:
        calls.append(event_name)

    for client in (clients.s3, clients.iam):
        client.meta.events.register("before-send", record)
    yield calls
    for client in (clients.s3, clients.iam):
        client.meta.events.unregister("before-send", record)
