"""OSB maintenance_info of provision, update and GET instance, which openbrokerapi 4.7.3 does not carry.

Its ProvisionDetails and UpdateDetails drop `maintenance_info`, and its GET instance answer has
none, so the first is read from the request body and the second added to the response.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, after_this_request, request

from broker.model.maintenance import requested_version


def requested_maintenance_version() -> str | None:
    """The maintenance_info.version this request asks for, if any (400 when it is malformed)."""
    return requested_version(request.get_json(silent=True))


def answer_with_maintenance_info(info: dict[str, str]) -> None:
    """Add `maintenance_info` to this request's JSON response."""

    @after_this_request
    def add(response: Response) -> Response:
        if response.status_code == 200 and response.is_json:
            body: dict[str, Any] = response.get_json()
            body["maintenance_info"] = info
            response.set_data(json.dumps(body))
        return response
