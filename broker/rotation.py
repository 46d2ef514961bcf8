"""OSB 2.17 binding rotation and binding metadata, which openbrokerapi 4.7.3 does not carry.

Its BindDetails drops `predecessor_binding_id` and its bind response has no `metadata`, so the
first is read from the request body and the second added to the response on its way out.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Response, after_this_request, request

from broker import records
from broker.binding_records import config_from_tags
from broker.catalog import Plan
from broker.envelope import USER_NAME_PART
from broker.errors import BadRequest, InvalidParameters, NotFound, Unprocessable
from broker.parameters import BindingConfig, binding_config
from broker.settings import IAM_USER_NAME_MAX
from broker.users import Users


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


def predecessor_config(
    users: Users,
    user_name: str,
    *,
    instance_id: str,
    binding_id: str,
    plan: Plan,
    predecessor_id: str,
    parameters: Any,
) -> BindingConfig:
    """The options of the binding being rotated, read back from its IAM user (`user_name`)'s tags."""
    if not plan.binding_rotatable:
        raise BadRequest(f"Plan {plan.name} does not rotate bindings: leave out predecessor_binding_id.")
    if predecessor_id == binding_id:
        raise BadRequest("predecessor_binding_id names this binding itself: a rotation makes a new binding.")
    not_ours = BadRequest(
        f"predecessor_binding_id {predecessor_id} is not a binding of instance {instance_id}: "
        "a rotation replaces a binding of the same service instance."
    )
    try:
        _arn, tags = users.read(user_name)
    except NotFound:
        raise not_ours from None
    if tags.get(records.INSTANCE_ID) != instance_id:
        raise not_ours
    recorded = config_from_tags(tags)
    if recorded is None:
        raise Unprocessable(
            f"Binding {predecessor_id} was made by an earlier version of this broker, which did not record "
            "its options, so it cannot be rotated. Create a new binding with the parameters you want instead."
        )
    # No parameters (or an empty object) means "as before"; any others must say exactly that.
    if parameters not in (None, {}) and binding_config(plan, parameters) != recorded:
        raise InvalidParameters(
            f"A rotation keeps the options of binding {predecessor_id}: leave parameters out "
            "(or send exactly that binding's parameters)."
        )
    return recorded
