from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testing import production_venv
from testing.harness import Backend, BrokerServer, OSBClient, new_id


@pytest.fixture(scope="session")
def backend() -> Iterator[Backend]:
    backend = Backend.start()
    yield backend
    backend.moto.stop()


@pytest.fixture(scope="session")
def broker(backend: Backend) -> Iterator[BrokerServer]:
    with BrokerServer(backend.settings()) as server:
        yield server


@pytest.fixture
def osb(broker: BrokerServer) -> OSBClient:
    return broker.osb()


@pytest.fixture
def s3(backend: Backend) -> Any:
    """An admin S3 client, to look at what the broker did."""
    return backend.client("s3")


@pytest.fixture
def iam(backend: Backend) -> Any:
    return backend.client("iam")


@pytest.fixture
def instance(osb: OSBClient) -> str:
    """A fresh private instance of the basic plan."""
    instance_id = new_id()
    assert osb.provision(instance_id).status_code == 201
    return instance_id


@pytest.fixture(scope="session")
def production_python() -> Path:
    """The Python of a virtualenv with requirements.txt alone (testing/production_venv.py)."""
    return production_venv.production_python()
