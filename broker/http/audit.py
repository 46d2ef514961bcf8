"""One audit record per OSB request: who asked (the platform's user), what, on which ids, and how it ended.

Built from the request's line and headers only: never its body or its Authorization header, so
no secret (broker password, binding credentials) can reach the log through it.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Mapping
from typing import Any

from broker.http import input_limits

REQUEST_IDENTITY = "X-Broker-API-Request-Identity"
ORIGINATING_IDENTITY = "X-Broker-API-Originating-Identity"


def originating_identity(header: str | None) -> dict[str, Any] | None:
    """The platform and the decoded identity of `X-Broker-API-Originating-Identity`.

    Cloud Foundry sends `cloudfoundry <base64 of {"user_id": "..."}>`. A value that does not
    decode is kept out (the request is refused as a 400 anyway) and marked as such.
    """
    if not header:
        return None
    platform, _, value = header.strip().partition(" ")
    try:
        user = json.loads(base64.b64decode(value.strip(), validate=True))
    except (ValueError, binascii.Error, RecursionError):
        return {"platform": platform, "user": None, "malformed": True}
    if input_limits.too_deep(user):  # a hostile header must not make the log line itself fail
        return {"platform": platform, "user": None, "malformed": True}
    return {"platform": platform, "user": user}


def outcome(status: int) -> str:
    """succeeded; refused (the request was wrong or asked for what is not offered: 501); failed."""
    if status < 400:
        return "succeeded"
    return "refused" if status < 500 or status == 501 else "failed"


def audit_record(
    *,
    operation: str,
    method: str,
    path: str,
    view_args: Mapping[str, Any],
    headers: Mapping[str, str],
    status: int,
    seconds: float,
) -> dict[str, Any]:
    """The fields of an OSB request's audit line.

    Auth is checked before anything else, so a 401 is the one answer to a caller the broker does
    not know: the identities it claims are its word alone, and a line that named them would put
    a forged user in the audit trail (who deleted that bucket?). They are left out.
    """
    authenticated = status != 401
    return {
        "operation": operation,
        "method": method,
        "path": path,
        "instance_id": view_args.get("instance_id"),
        "binding_id": view_args.get("binding_id"),
        "authenticated": authenticated,
        "request_identity": headers.get(REQUEST_IDENTITY) if authenticated else None,
        "originating_identity": originating_identity(headers.get(ORIGINATING_IDENTITY)) if authenticated else None,
        "status": status,
        "outcome": outcome(status),
        "duration_ms": round(seconds * 1000, 1),
    }


def log_audit(logger: logging.Logger, record: dict[str, Any]) -> None:
    """The audit line at INFO, with `record` as its fields.

    Made as logger.info makes a line, less the look-up of the caller's file and line (a walk up
    the stack on every request, for fields the JSON line does not show).
    """
    if logger.isEnabledFor(logging.INFO):
        message = "%s %s -> %d (%s)"
        arguments = (record["method"], record["path"], record["status"], record["operation"])
        logger.handle(
            logger.makeRecord(logger.name, logging.INFO, "(unknown file)", 0, message, arguments, None, extra=record)
        )
