"""A bare openbrokerapi app serving the broker's catalog: the framework's own cost, for comparison.

What openbrokerapi's documentation shows: a ServiceBroker whose catalog() returns the services,
its blueprint with basic auth, on Flask. No broker checks, audit line or metrics; the catalog is
encoded on every request, as openbrokerapi does. Served by gunicorn with bench/bare_gunicorn_config.py.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import yaml
from flask import Flask
from openbrokerapi.api import BrokerCredentials, get_blueprint
from openbrokerapi.catalog import ServicePlan
from openbrokerapi.service_broker import Service, ServiceBroker

CATALOG = Path(__file__).resolve().parent.parent / "catalog.yml"


def _published(entry: dict[str, Any]) -> dict[str, Any]:
    # The keys the broker publishes: those not starting with "x-" (broker/model/catalog.py).
    return {key: value for key, value in entry.items() if not key.startswith("x-")}


def services(path: Path = CATALOG) -> list[Service]:
    made = []
    for entry in yaml.safe_load(path.read_text())["services"]:
        fields = _published(entry)
        fields["plans"] = [ServicePlan(**_published(plan)) for plan in entry.get("plans") or []]
        made.append(Service(**fields))
    return made


class CatalogOnly(ServiceBroker):
    def __init__(self, catalog: list[Service]) -> None:
        self.services = catalog

    def catalog(self) -> list[Service]:
        return self.services


def create_app() -> Flask:
    app = Flask("bare")
    credentials = BrokerCredentials(os.environ["BROKER_USERNAME"], os.environ["BROKER_PASSWORD"])
    app.register_blueprint(get_blueprint(CatalogOnly(services()), credentials, logging.getLogger("openbrokerapi")))
    return app
