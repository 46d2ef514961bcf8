"""The Flask app: openbrokerapi's OSB routes behind the broker's own checks, plus /health and /metrics."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace

from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask, Request, Response, g, jsonify, request
from openbrokerapi.api import get_blueprint
from openbrokerapi.auth import NoneBrokerAuthenticator
from werkzeug.exceptions import HTTPException

from broker import deadlines
from broker.aws.bucket_namespace import check_bucket_namespace
from broker.aws.clients import AwsPool, make_clients
from broker.aws.errors import from_aws
from broker.aws.identity import check_aws_access
from broker.errors import BrokerError
from broker.http import envelope
from broker.http.audit import REQUEST_IDENTITY, audit_record, log_audit
from broker.http.bodies import BodyLimits
from broker.http.catalog_answer import CATALOG_ENDPOINT, CatalogAnswer
from broker.http.in_flight import InFlight
from broker.http.metrics import iam_user_gauges, metrics_from_environment
from broker.http.osb import S3ServiceBroker
from broker.logs import configure_logging
from broker.model.catalog import load_catalog
from broker.operations import external_access
from broker.operations.assembly import assemble
from broker.operations.binding_limits import users_ceiling
from broker.operations.names import NameRefresh
from broker.settings import Settings, from_env

log = logging.getLogger(__name__)

OSB_BLUEPRINT = "open_broker"
AWS_THREADS = 16
audit_log = logging.getLogger("broker.audit")


def error_response(error: BrokerError) -> tuple[Response, int]:
    if error.status >= 500 and error.status != 501:  # 501: a request for what the broker does not offer
        log.error("%s %s failed: %s", request.method, request.path, error.description)
    headers = {"WWW-Authenticate": 'Basic realm="s3-broker"'} if error.status == 401 else {}
    return jsonify(error.body()), error.status, headers  # type: ignore[return-value]


def aws_error_response(error: Exception) -> tuple[Response, int]:
    """An AWS failure no operation translated itself: still an OSB error a person can act on."""
    return error_response(from_aws(error, f"answer {request.method} {request.path}"))


def http_error_response(error: HTTPException) -> tuple[Response, int, list[tuple[str, str]]]:
    """Flask's own errors (unknown route, wrong method) as OSB error bodies, not HTML pages."""
    status = error.code or 500
    # Keep what the error says in headers, such as the Allow header of a 405.
    headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
    return jsonify({"error": error.name.replace(" ", ""), "description": error.description}), status, headers


def unexpected_error_response(error: Exception) -> tuple[Response, int]:
    log.exception("%s %s failed unexpectedly", request.method, request.path)
    return jsonify({"error": "InternalError", "description": "The broker failed unexpectedly; see its logs."}), 500


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app: no work at import time; gunicorn calls this once per worker."""
    settings = settings or from_env(os.environ)
    configure_logging(settings.log_level)
    catalog = load_catalog(settings.catalog_path)
    clients = make_clients(settings)
    # The key is checked here, in each worker, not in the gunicorn master (see broker/server/startup.py).
    identity = check_aws_access(settings, clients.sts)
    settings = replace(settings, account_id=identity.account_id)  # account-regional bucket names hold it
    check_bucket_namespace(clients.s3, settings)
    external_access.check_accounts(settings, identity.account_id)
    pool = AwsPool(max_workers=AWS_THREADS)
    ops = assemble(settings, catalog, clients, identity.account_id, pool)
    names = NameRefresh(settings, ops.buckets, ops.users, pool)
    service_broker = S3ServiceBroker(catalog, ops.instances, ops.bindings, ops.upgrades, names)
    metrics = metrics_from_environment()
    in_flight = InFlight(settings.request_deadline, pool)

    app = Flask("broker")
    app.wsgi_app = BodyLimits(app.wsgi_app, seconds=settings.body_deadline)  # type: ignore[method-assign]
    # The broker's AWS clients and key probe, so tests can inject faults at the AWS boundary with botocore hooks.
    app.extensions["s3_broker.aws"] = clients
    app.extensions["s3_broker.probe"] = ops.probe
    app.extensions["s3_broker.identity"] = identity  # logged once per server by gunicorn_config
    # Auth is checked by the app itself, first and in constant time (see before_osb_request).
    blueprint = get_blueprint(
        service_broker, None, logging.getLogger("openbrokerapi"), authenticator=NoneBrokerAuthenticator()
    )
    blueprint.register_error_handler(BrokerError, error_response)
    blueprint.register_error_handler(BotoCoreError, aws_error_response)
    blueprint.register_error_handler(ClientError, aws_error_response)
    app.register_blueprint(blueprint)
    catalog_answer = CatalogAnswer(app, catalog)
    app.register_error_handler(BrokerError, error_response)
    app.register_error_handler(HTTPException, http_error_response)
    app.register_error_handler(BotoCoreError, aws_error_response)
    app.register_error_handler(Exception, unexpected_error_response)

    @app.before_request
    def before_osb_request() -> Response | None:
        # The request itself, not Flask's proxy: every attribute read through the proxy looks the
        # context up again, about a microsecond each, dozens of times a request.
        req: Request = request._get_current_object()  # type: ignore[attr-defined]
        g.started = time.perf_counter()
        if req.path == "/health":
            return None
        g.deadline = deadlines.start(settings.request_deadline)
        g.in_flight = in_flight.start()
        envelope.check_auth(req, settings)
        if req.blueprint == OSB_BLUEPRINT:
            envelope.check_version(req)
            envelope.check_osb_request(req, settings, catalog)
            if req.endpoint == CATALOG_ENDPOINT:
                # Checked as every OSB request; answered here with bytes made once (broker/http/catalog_answer.py).
                return catalog_answer.response()
        return None

    @app.after_request
    def after_request(response: Response) -> Response:
        req: Request = request._get_current_object()  # type: ignore[attr-defined]
        identity = req.headers.get(REQUEST_IDENTITY)
        if identity:
            response.headers[REQUEST_IDENTITY] = identity
        if req.blueprint == OSB_BLUEPRINT:
            endpoint = (req.endpoint or "").removeprefix(OSB_BLUEPRINT + ".")
            seconds = time.perf_counter() - g.get("started", time.perf_counter())
            metrics.observe(endpoint, response.status_code, seconds)
            record = audit_record(
                operation=endpoint,
                method=req.method,
                path=req.path,
                view_args=req.view_args or {},
                headers=req.headers,
                status=response.status_code,
                seconds=seconds,
            )
            log_audit(audit_log, record)
        return response

    @app.teardown_request
    def end_deadline(_: BaseException | None) -> None:
        # Threads serve one request after another: the next one must not inherit this deadline.
        token = g.pop("deadline", None)
        if token is not None:
            deadlines.reset(token)
        number = g.pop("in_flight", None)
        if number is not None:
            in_flight.end(number)

    @app.get("/health")
    def health() -> Response | tuple[Response, int]:
        stuck = in_flight.stuck()
        if stuck:
            return jsonify({"status": "stuck", "description": stuck}), 503
        return jsonify({"status": "ok"})

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        exposition = metrics.exposition()
        try:
            users, quota = ops.bindings.limits.account()
            exposition += iam_user_gauges(users, quota, users_ceiling(settings.max_iam_users, quota))
        except BrokerError as error:  # the request counts still answer when IAM does not
            log.warning("left the account's IAM user counts out of /metrics: %s", error.description)
        return Response(exposition, content_type=metrics.content_type)

    return app
