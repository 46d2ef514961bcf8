"""The Flask app: openbrokerapi's OSB routes behind the broker's own checks, plus /health and /metrics."""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask, Response, g, jsonify, request
from openbrokerapi.api import get_blueprint
from openbrokerapi.auth import NoneBrokerAuthenticator
from werkzeug.exceptions import HTTPException

from broker import envelope
from broker.aws import MAX_POOL_CONNECTIONS, make_clients, own_account_id
from broker.bindings import Bindings
from broker.buckets import Buckets
from broker.catalog import load_catalog
from broker.errors import BrokerError, from_aws
from broker.instances import Instances
from broker.metrics import Metrics
from broker.osb import S3ServiceBroker
from broker.probe import KeyProbe
from broker.settings import Settings, from_env
from broker.users import Users

log = logging.getLogger(__name__)

OSB_BLUEPRINT = "open_broker"
REQUEST_IDENTITY = "X-Broker-API-Request-Identity"
AWS_THREADS = 16
# Longer than any bind can run (the Cloud Controller gives up after 60 s), with room for clock skew.
KEY_IN_FLIGHT_SECONDS = 120.0
# Loggers that print secrets at DEBUG: openbrokerapi logs headers (basic auth) and bodies,
# botocore logs CreateAccessKey responses.
QUIET_LOGGERS = {
    "openbrokerapi": logging.INFO,
    "botocore": logging.WARNING,
    "boto3": logging.WARNING,
    "urllib3": logging.WARNING,
}


def configure_logging(level: str) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)
    logging.getLogger("broker").setLevel(level)
    for name, floor in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(floor, logging.getLevelName(level)))


def error_response(error: BrokerError) -> tuple[Response, int]:
    if error.status >= 500:
        log.error("%s %s failed: %s", request.method, request.path, error.description)
    headers = {"WWW-Authenticate": 'Basic realm="s3-broker"'} if error.status == 401 else {}
    return jsonify(error.body()), error.status, headers  # type: ignore[return-value]


def aws_error_response(error: Exception) -> tuple[Response, int]:
    """An AWS failure no operation translated itself: still an OSB error a person can act on."""
    return error_response(from_aws(error, f"answer {request.method} {request.path}"))


def http_error_response(error: HTTPException) -> tuple[Response, int]:
    """Flask's own errors (unknown route, wrong method) as OSB error bodies, not HTML pages."""
    status = error.code or 500
    return jsonify({"error": error.name.replace(" ", ""), "description": error.description}), status


def unexpected_error_response(error: Exception) -> tuple[Response, int]:
    log.exception("%s %s failed unexpectedly", request.method, request.path)
    return jsonify({"error": "InternalError", "description": "The broker failed unexpectedly; see its logs."}), 500


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app: no work at import time; gunicorn calls this once per worker."""
    settings = settings or from_env(os.environ)
    configure_logging(settings.log_level)
    catalog = load_catalog(settings.catalog_path)
    clients = make_clients(settings)
    pool = ThreadPoolExecutor(max_workers=AWS_THREADS, thread_name_prefix="aws")
    buckets = Buckets(clients.s3, settings.aws_region, pool)
    probe = KeyProbe(settings.aws_region, settings.aws_endpoint_url, pool_size=MAX_POOL_CONNECTIONS)
    users = Users(clients.iam, probe, settings.iam_permissions_boundary_arn, pool)
    bindings = Bindings(
        settings,
        catalog,
        buckets,
        users,
        pool,
        own_account=own_account_id(clients.sts),
        key_in_flight_seconds=KEY_IN_FLIGHT_SECONDS,
    )
    service_broker = S3ServiceBroker(catalog, Instances(settings, catalog, buckets, bindings.remove_all_of), bindings)
    metrics = Metrics()

    app = Flask("broker")
    app.extensions["s3_broker_aws"] = clients  # where AWS faults are injected in tests
    # Auth is checked by the app itself, first and in constant time (see before_osb_request).
    blueprint = get_blueprint(
        service_broker, None, logging.getLogger("openbrokerapi"), authenticator=NoneBrokerAuthenticator()
    )
    blueprint.register_error_handler(BrokerError, error_response)
    blueprint.register_error_handler(BotoCoreError, aws_error_response)
    blueprint.register_error_handler(ClientError, aws_error_response)
    app.register_blueprint(blueprint)
    app.register_error_handler(BrokerError, error_response)
    app.register_error_handler(HTTPException, http_error_response)
    app.register_error_handler(Exception, unexpected_error_response)

    @app.before_request
    def before_osb_request() -> None:
        g.started = time.perf_counter()
        if request.path == "/health":
            return
        envelope.check_auth(request, settings)
        if request.blueprint == OSB_BLUEPRINT:
            envelope.check_version(request)
            envelope.check_osb_request(request, settings, catalog)

    @app.after_request
    def after_request(response: Response) -> Response:
        identity = request.headers.get(REQUEST_IDENTITY)
        if identity:
            response.headers[REQUEST_IDENTITY] = identity
        if request.blueprint == OSB_BLUEPRINT:
            endpoint = (request.endpoint or "").removeprefix(OSB_BLUEPRINT + ".")
            seconds = time.perf_counter() - g.get("started", time.perf_counter())
            metrics.observe(endpoint, response.status_code, seconds)
            log.info("%s %s -> %d in %.0f ms", request.method, request.path, response.status_code, seconds * 1000)
        return response

    @app.get("/health")
    def health() -> Response:
        return jsonify({"status": "ok"})

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), content_type=metrics.content_type)

    return app
