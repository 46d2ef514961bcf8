"""OSB 2.17 binding rotation: a new binding takes the options of the one it replaces.

openbrokerapi 4.7.3 does not carry `predecessor_binding_id`; broker/http/osb_fields.py reads it.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from broker.aws.users import Users
from broker.errors import BadRequest, InvalidParameters, NotFound, Unprocessable
from broker.model import records
from broker.model.binding_records import config_from_tags
from broker.model.catalog import Plan
from broker.model.parameters import BindingConfig, binding_config


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
    recorded = revalidated(plan, recorded, predecessor_id)
    # No parameters (or an empty object) means "as before"; any others must say exactly that.
    if parameters not in (None, {}) and binding_config(plan, parameters) != recorded:
        raise InvalidParameters(
            f"A rotation keeps the options of binding {predecessor_id}: leave parameters out "
            "(or send exactly that binding's parameters)."
        )
    return recorded


def revalidated(plan: Plan, recorded: BindingConfig, predecessor_id: str) -> BindingConfig:
    """The recorded options, checked again as the parameters of a fresh bind of `plan`.

    Tags are input like any other: anyone allowed iam:TagUser on the user can rewrite them, and
    the options were checked against the rules of their time. The bind's later checks (external
    buckets, additional instances, the policy's size) run on the result as on a fresh bind.
    """
    defaults = BindingConfig()
    given = {
        field.name: list(value) if isinstance(value, tuple) else value
        for field in fields(BindingConfig)
        if (value := getattr(recorded, field.name)) != getattr(defaults, field.name)
    }
    try:
        return binding_config(plan, given)
    except InvalidParameters as error:
        raise Unprocessable(
            f"The options recorded for binding {predecessor_id} are not valid for a new binding "
            f"({error.description}), so it cannot be rotated. Create a new binding with the parameters you want."
        ) from None
