"""A bare openbrokerapi app serving the broker's catalog: the framework's own cost, for comparison.

What openbrokerapi's documentation shows: a ServiceBroker whose catalog() returns the services,
its blueprint with basic auth, on Flask. No broker checks, audit line or metrics; the catalog is
encoded on every request, as openbrokerapi does. Served by gunicorn with bench/bare_gunicorn_config.py.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask
from openbrokerapi.api import BrokerCredentials, get_blueprint
from openbrokerapi.service_broker import Service, ServiceBroker

from broker.model.catalog import load_catalog

CATALOG = Path(__file__).resolve().parent.parent / "catalog.yml"


def services(path: Path = CATALOG) -> list[Service]:
    # The services as the broker publishes them (its catalog module: no AWS, no Flask), so both
    # apps answer the same catalog however it grows (the release in metadata, maintenance_info).
    return load_catalog(path).services


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
