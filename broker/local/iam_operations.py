"""Which resource an IAM or STS query request acts on, and its iam: condition keys. Pure.

Source: the Service Authorization Reference for IAM (resource types and condition keys per action):
user actions act on the user's ARN (path included), iam:PermissionsBoundary is the boundary a
CreateUser or PutUserPermissionsBoundary sets, or for PutUserPolicy (and the other user-policy
actions) the boundary the user already has. An action this module does not know raises PolicyError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from broker.local.policy_matching import PolicyError
from broker.local.s3_operations import Check

USER_ACTIONS = frozenset(
    [
        "CreateUser",
        "GetUser",
        "DeleteUser",
        "TagUser",
        "UntagUser",
        "ListUserTags",
        "PutUserPolicy",
        "GetUserPolicy",
        "DeleteUserPolicy",
        "ListUserPolicies",
        "ListAttachedUserPolicies",
        "AttachUserPolicy",
        "DetachUserPolicy",
        "CreateAccessKey",
        "DeleteAccessKey",
        "ListAccessKeys",
        "UpdateAccessKey",
        "PutUserPermissionsBoundary",
        "DeleteUserPermissionsBoundary",
        "ListGroupsForUser",
        "UpdateUser",
    ]
)
# The boundary a user already has is a condition key of these (the Service Authorization Reference).
BOUNDED_ACTIONS = frozenset(
    ["PutUserPolicy", "DeleteUserPolicy", "AttachUserPolicy", "DetachUserPolicy", "DeleteUserPermissionsBoundary"]
)
POLICY_ACTIONS = frozenset(
    [
        "GetPolicy",
        "DeletePolicy",
        "GetPolicyVersion",
        "ListPolicyVersions",
        "CreatePolicyVersion",
        "DeletePolicyVersion",
        "SetDefaultPolicyVersion",
    ]
)
ANY_RESOURCE_ACTIONS = frozenset(["ListUsers", "ListPolicies", "GetAccountSummary"])
STS_ACTIONS = frozenset(["GetCallerIdentity"])

UserPath = Callable[[str], str | None]  # a user's path, or None when the account has no such user
Boundary = Callable[[str], str | None]  # the boundary a user has, as the gate recorded it


def user_arn(account: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account}:user{path}{name}"


def iam_check(
    action: str,
    params: Mapping[str, str],
    *,
    account: str,
    caller_name: str,
    path_of: UserPath,
    boundary_of: Boundary,
) -> Check | None:
    """The check IAM makes; None when the user named does not exist (moto answers NoSuchEntity)."""
    name = f"iam:{action}"
    if action in ANY_RESOURCE_ACTIONS:
        return Check(name, "*")
    if action == "CreatePolicy":
        path = params.get("Path", "/")
        return Check(name, f"arn:aws:iam::{account}:policy{path}{params.get('PolicyName', '')}")
    if action == "SimulatePrincipalPolicy":  # acts on the principal it asks about
        return Check(name, params.get("PolicySourceArn", "*"))
    if action in POLICY_ACTIONS:
        return Check(name, params.get("PolicyArn", "*"))
    if action not in USER_ACTIONS:
        raise PolicyError(f"the local gate does not know the IAM action {action!r}")
    user = params.get("UserName", caller_name)
    context: dict[str, str] = {}
    if action == "CreateUser":
        path = params.get("Path", "/")
    else:
        found = path_of(user)
        if found is None:
            return None
        path = found
    if action in ("CreateUser", "PutUserPermissionsBoundary"):
        if "PermissionsBoundary" in params:
            context["iam:PermissionsBoundary"] = params["PermissionsBoundary"]
    elif action in BOUNDED_ACTIONS:
        had = boundary_of(user)
        if had:
            context["iam:PermissionsBoundary"] = had
    if action in ("AttachUserPolicy", "DetachUserPolicy") and "PolicyArn" in params:
        context["iam:PolicyARN"] = params["PolicyArn"]
    return Check(name, user_arn(account, path, user), context=context)
