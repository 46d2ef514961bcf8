"""The Flask app: openbrokerapi's OSB routes behind the broker's own checks, plus /health and /metrics."""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import BotoCoreError
from flask import Flask, Response, g, jsonify, request
from openbrokerapi.api import get_blueprint
from openbrokerapi.auth import NoneBrokerAuthenticator
from werkzeug.exceptions import HTTPException

from broker import deadlines, envelope
from broker.aws import MAX_POOL_CONNECTIONS, make_clients
from broker.bindings import Bindings
from broker.bodies import BodyLimits
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


def http_error_response(error: HTTPException) -> tuple[Response, int, list[tuple[str, str]]]:
    """Flask's own errors (unknown route, wrong method) as OSB error bodies, not HTML pages."""
    status = error.code or 500
    # Keep what the error says in headers, such as the Allow header of a 405.
    headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
    return jsonify({"error": error.name.replace(" ", ""), "description": error.description}), status, headers


def aws_unreachable_response(error: BotoCoreError) -> tuple[Response, int]:
    """AWS could not be reached (timeouts, connection errors) in a call no narrower handler covers."""
    return error_response(from_aws(error, f"answer {request.method} {request.path}"))


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
    users = Users(clients.iam, probe, settings.iam_user_path, settings.iam_permissions_boundary_arn, pool)
    service_broker = S3ServiceBroker(
        catalog,
        Instances(settings, catalog, buckets),
        Bindings(settings, catalog, buckets, users, pool),
    )
    metrics = Metrics()

    app = Flask("broker")
    app.wsgi_app = BodyLimits(app.wsgi_app)  # type: ignore[method-assign]
    # The broker's AWS clients and key probe, so tests can inject faults at the AWS boundary with botocore hooks.
    app.extensions["s3_broker.aws"] = clients
    app.extensions["s3_broker.probe"] = probe
    # Auth is checked by the app itself, first and in constant time (see before_osb_request).
    blueprint = get_blueprint(
        service_broker, None, logging.getLogger("openbrokerapi"), authenticator=NoneBrokerAuthenticator()
    )
    blueprint.register_error_handler(BrokerError, error_response)
    blueprint.register_error_handler(BotoCoreError, aws_unreachable_response)
    app.register_blueprint(blueprint)
    app.register_error_handler(BrokerError, error_response)
    app.register_error_handler(HTTPException, http_error_response)
    app.register_error_handler(BotoCoreError, aws_unreachable_response)
    app.register_error_handler(Exception, unexpected_error_response)

    @app.before_request
    def before_osb_request() -> None:
        g.started = time.perf_counter()
        if request.path == "/health":
            return
        g.deadline = deadlines.start(settings.request_deadline)
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

    @app.teardown_request
    def end_deadline(_: BaseException | None) -> None:
        # Threads serve one request after another: the next one must not inherit this deadline.
        token = g.pop("deadline", None)
        if token is not None:
            deadlines.reset(token)

    @app.get("/health")
    def health() -> Response:
        return jsonify({"status": "ok"})

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), content_type=metrics.content_type)

    return app
