"""Checks of every OSB request before openbrokerapi sees it: auth, API version, body, ids.

openbrokerapi checks the version before auth, crashes on a malformed version, never checks
service_id and lets empty org/space GUIDs through. These checks run first, in the order the
OSB spec implies (401, then 412, then 400), and touch nothing in AWS.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from typing import Any

from flask import Request

from broker.aws_names import IAM_NAME_CHARACTERS, IAM_USER_NAME_MAX, S3_BUCKET_NAME_MAX, reserved_bucket_name
from broker.errors import BadRequest, InvalidParameters, PreconditionFailed, Unauthorized
from broker.http import input_limits
from broker.model.catalog import Catalog
from broker.settings import Settings

SUPPORTED_MAJOR = 2
MIN_MINOR = 13
VERSION_FORM = re.compile(r"(\d+)\.(\d+)")
# Org and space GUIDs become bucket tag values: a GUID, or at least nothing S3 tags refuse.
GUID_TEXT = re.compile(r"[A-Za-z0-9-]{1,256}")


def check_auth(request: Request, settings: Settings) -> None:
    """Basic auth, compared in constant time (both parts always compared)."""
    auth = request.authorization
    username = (auth.username or "") if auth else ""
    password = (auth.password or "") if auth else ""
    username_ok = hmac.compare_digest(username.encode(), settings.broker_username.encode())
    password_ok = hmac.compare_digest(password.encode(), settings.broker_password.encode())
    if not (auth and username_ok and password_ok):
        raise Unauthorized("Missing or wrong broker credentials (HTTP basic auth).")


def check_version(request: Request) -> None:
    version = request.headers.get("X-Broker-API-Version", "")
    match = VERSION_FORM.fullmatch(version.strip())
    if not match:
        raise PreconditionFailed(
            f"The X-Broker-API-Version header must be MAJOR.MINOR, such as 2.17 (got {version!r})."
        )
    major, minor = int(match.group(1)), int(match.group(2))
    if major != SUPPORTED_MAJOR or minor < MIN_MINOR:
        raise PreconditionFailed(
            f"This broker speaks OSB API {SUPPORTED_MAJOR}.{MIN_MINOR} to {SUPPORTED_MAJOR}.x (got {version})."
        )


def check_originating_identity(request: Request) -> None:
    header = request.headers.get("X-Broker-API-Originating-Identity")
    if header is None:
        return
    try:
        _platform, value = header.split(None, 1)
        _load_json(base64.b64decode(value, validate=True))
    except (ValueError, binascii.Error):
        raise BadRequest(
            "The X-Broker-API-Originating-Identity header must be a platform name and base64-encoded JSON "
            f"nested at most {input_limits.MAX_JSON_DEPTH} levels."
        ) from None


def _load_json(text: str | bytes) -> Any:
    """json.loads, with JSON nested too deeply to walk safely refused as a ValueError."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if input_limits.too_deep(value):
        raise ValueError(f"nested more than {input_limits.MAX_JSON_DEPTH} levels deep")
    return value


def _json_body(request: Request) -> dict[str, Any]:
    if not request.mimetype or request.mimetype != "application/json":
        raise BadRequest("The request body must be JSON, sent with Content-Type: application/json.")
    try:
        body = _load_json(request.get_data(as_text=True) or "")
    except ValueError as error:
        raise BadRequest(f"The request body is not valid JSON: {error}.") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


def _objects(body: dict[str, Any], *names: str) -> None:
    """Fields the OSB spec makes JSON objects must be objects (or absent), not lists or strings."""
    for name in names:
        if body.get(name) is not None and not isinstance(body[name], dict):
            error = InvalidParameters if name == "parameters" else BadRequest
            raise error(f"{name} must be a JSON object.")


def _cors_size(body: dict[str, Any]) -> None:
    parameters = body.get("parameters")
    rules = parameters.get("cors_rules") if isinstance(parameters, dict) else None
    if input_limits.cors_xml_bytes(rules) > input_limits.MAX_CORS_XML_BYTES:
        raise InvalidParameters(
            f"parameter 'cors_rules' is too large: S3 accepts at most {input_limits.MAX_CORS_XML_BYTES // 1024} KB "
            "of CORS configuration. Use fewer rules or origins (a '*' wildcard may do)."
        )


def _nonempty_string(source: dict[str, Any], name: str, where: str = "request body") -> str:
    value = source.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{name} is required in the {where} and must be a non-empty string.")
    return value


def _check_service_and_plan(catalog: Catalog, service_id: str, plan_id: str | None) -> None:
    if service_id not in catalog.service_ids:
        raise BadRequest(f"service_id {service_id!r} is not a service of this broker.")
    if plan_id is None:
        return
    plan = catalog.plans.get(plan_id)
    if plan is None:
        raise BadRequest(f"plan_id {plan_id!r} is not a plan of this broker.")
    if plan.service_id != service_id:
        raise BadRequest(f"plan_id {plan_id!r} is not a plan of service {service_id!r}.")


def _check_org_and_space(body: dict[str, Any]) -> None:
    context = body.get("context") if isinstance(body.get("context"), dict) else {}
    for name in ("organization_guid", "space_guid"):
        top, inner = body.get(name), context.get(name)
        if top is None and inner is None:
            raise BadRequest(f"{name} is required.")
        for value in (top, inner):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise BadRequest(f"{name} must be a non-empty string.")
            _check_guid(name, value)
        if top is not None and inner is not None and top != inner:
            raise BadRequest(f"{name} differs between the request body and its context.")


def _check_guid(label: str, value: Any) -> None:
    """An org or space GUID, when given, becomes a bucket tag value: a GUID, nothing S3 tags refuse."""
    if value is not None and (not isinstance(value, str) or not GUID_TEXT.fullmatch(value)):
        raise BadRequest(f"{label} {value!r} must be a GUID: letters, digits and - only.")


def _check_binding_context(body: dict[str, Any]) -> None:
    """A bind's context (an object, or absent: see _objects) names the org the binding is made in."""
    context = body.get("context") or {}
    for name in ("organization_guid", "space_guid"):
        _check_guid(f"context.{name}", context.get(name))


INSTANCE_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# What an id may hold, since it becomes part of a name: (pattern, the characters in words, what it names).
BUCKET_NAME_PART = (r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", "a-z, 0-9 and '-' (a lower-case GUID)", "the bucket")
USER_NAME_PART = (IAM_NAME_CHARACTERS, "letters, digits and + = , . @ _ - (a GUID)", "the IAM user")


def _check_name_part(label: str, value: str, room: int, rule: tuple[str, str, str]) -> None:
    pattern, characters, names = rule
    if not re.fullmatch(pattern, value) or len(value) > room:
        raise BadRequest(
            f"{label} {value!r} must be at most {room} characters of {characters}, since it names {names}."
        )


def check_ids(settings: Settings, instance_id: str | None, binding_id: str | None) -> None:
    """Instance and binding ids become bucket and user names, so they must fit those names' rules."""
    if instance_id is not None:
        # The id names the bucket: anything but a GUID could name a bucket of the operator's (cf-s3-ops-artifacts),
        # which the broker would then configure, make public or delete.
        if not INSTANCE_GUID.fullmatch(instance_id):
            raise BadRequest(
                f"instance_id {instance_id!r} must be a GUID in lower case (8-4-4-4-12 hexadecimal digits), "
                f"since it names the bucket {settings.bucket_prefix}INSTANCE_ID."
            )
        _check_name_part("instance_id", instance_id, S3_BUCKET_NAME_MAX - len(settings.bucket_prefix), BUCKET_NAME_PART)
        reserved = reserved_bucket_name(settings.bucket_name(instance_id))
        if reserved:
            raise BadRequest(
                f"instance_id {instance_id!r} would make bucket {settings.bucket_name(instance_id)!r}, "
                f"which uses {reserved!r}, reserved by S3."
            )
    if binding_id is not None:
        _check_name_part("binding_id", binding_id, IAM_USER_NAME_MAX - len(settings.iam_user_prefix), USER_NAME_PART)


def check_osb_request(request: Request, settings: Settings, catalog: Catalog) -> None:
    """Everything about an OSB request's form that openbrokerapi leaves unchecked, by endpoint."""
    endpoint = (request.endpoint or "").removeprefix("open_broker.")
    view_args = request.view_args or {}
    check_originating_identity(request)
    check_ids(settings, view_args.get("instance_id"), view_args.get("binding_id"))
    if endpoint == "provision":
        body = _json_body(request)
        _objects(body, "context", "parameters")
        _cors_size(body)
        service_id = _nonempty_string(body, "service_id")
        _check_service_and_plan(catalog, service_id, _nonempty_string(body, "plan_id"))
        _check_org_and_space(body)
    elif endpoint == "update":
        body = _json_body(request)
        _objects(body, "context", "parameters", "previous_values")
        _cors_size(body)
        plan_id = body.get("plan_id")
        if plan_id is not None:
            plan_id = _nonempty_string(body, "plan_id")
        _check_service_and_plan(catalog, _nonempty_string(body, "service_id"), plan_id)
    elif endpoint == "bind":
        body = _json_body(request)
        _objects(body, "context", "parameters", "bind_resource")
        service_id = _nonempty_string(body, "service_id")
        _check_service_and_plan(catalog, service_id, _nonempty_string(body, "plan_id"))
        _check_binding_context(body)
    elif endpoint in ("deprovision", "unbind"):
        query = request.args.to_dict()
        service_id = _nonempty_string(query, "service_id", "query string")
        _check_service_and_plan(catalog, service_id, _nonempty_string(query, "plan_id", "query string"))
    elif endpoint in ("last_operation", "last_binding_operation", "get_instance", "get_binding"):
        query = request.args.to_dict()
        if "service_id" in query:
            _check_service_and_plan(catalog, query["service_id"], query.get("plan_id"))
