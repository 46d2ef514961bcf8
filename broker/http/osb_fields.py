"""OSB 2.17 fields of a bind that openbrokerapi 4.7.3 does not carry.

Its BindDetails drops `predecessor_binding_id` and its bind response has no `metadata`, so the
first is read from the request body and the second added to the response on its way out.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Response, after_this_request, request

from broker.aws_names import IAM_USER_NAME_MAX
from broker.errors import BadRequest
from broker.http.envelope import USER_NAME_PART


def predecessor_binding_id() -> str | None:
    """The bind request's predecessor_binding_id, if it has one."""
    body = request.get_json(silent=True)
    value = body.get("predecessor_binding_id") if isinstance(body, dict) else None
    if value is None:
        return None
    # The same rule as a binding id in the URL: it names an IAM user.
    if not isinstance(value, str) or len(value) > IAM_USER_NAME_MAX or not re.fullmatch(USER_NAME_PART[0], value):
        raise BadRequest("predecessor_binding_id must be the id of an existing binding (a GUID).")
    return value


def answer_with_metadata(metadata: dict[str, str]) -> None:
    """Add the binding's OSB `metadata` object to this request's JSON response."""

    @after_this_request
    def add(response: Response) -> Response:
        if response.status_code in (200, 201) and response.is_json:
            body: dict[str, Any] = response.get_json()
            body["metadata"] = metadata
            response.set_data(json.dumps(body))
        return response
