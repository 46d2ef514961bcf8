"""The preflight's second way to learn the key's rights, where IAM cannot simulate (local AWS, some
IAM stand-ins): read the user's own policies and look for each action the broker uses.

Only actions are compared: resources, conditions, groups and boundaries are not evaluated, so
nothing found here counts as passed; an action no statement names is a failure all the same.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from broker.server.findings import FAIL, NOT_CHECKED, UPDATE_BROKER_POLICY, Finding, canonical

if TYPE_CHECKING:
    from broker.server.preflight import Question


def user_statements(iam: Any, user_name: str) -> list[dict[str, Any]]:
    """The statements of the user's inline and attached managed policies."""
    documents = []
    for name in iam.list_user_policies(UserName=user_name)["PolicyNames"]:
        documents.append(iam.get_user_policy(UserName=user_name, PolicyName=name)["PolicyDocument"])
    for attached in iam.list_attached_user_policies(UserName=user_name)["AttachedPolicies"]:
        version = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
        documents.append(
            iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)["PolicyVersion"]["Document"]
        )
    statements: list[dict[str, Any]] = []
    for document in documents:
        found = json.loads(canonical(document))["Statement"]
        statements.extend(found if isinstance(found, list) else [found])
    return statements


def named(action: str, statements: Sequence[dict[str, Any]], effect: str) -> bool:
    """Whether a statement of this effect names the action (IAM's wildcards, case-insensitive)."""
    for statement in statements:
        if statement.get("Effect") != effect:
            continue
        patterns = statement.get("Action", [])
        for pattern in [patterns] if isinstance(patterns, str) else patterns:
            if fnmatch.fnmatchcase(action.lower(), pattern.lower()):
                return True
    return False


def fallback(iam: Any, user_name: str, asked: Sequence[Question], why: str) -> Iterator[Finding]:
    from botocore.exceptions import BotoCoreError, ClientError

    cannot = f"this IAM endpoint does not answer iam:SimulatePrincipalPolicy ({why})"
    try:
        statements = user_statements(iam, user_name)
    except (ClientError, BotoCoreError) as error:
        yield Finding(NOT_CHECKED, "permissions", f"{cannot}, and the key may not read its own policies ({error})")
        return
    missing = [
        action
        for question in asked
        if question.allow
        for action in question.actions
        if not named(action, statements, "Allow") or named(action, statements, "Deny")
    ]
    if missing:
        yield Finding(
            FAIL,
            "permissions",
            f"{cannot}; the user's own policies do not allow {', '.join(missing)} (groups not read)",
            UPDATE_BROKER_POLICY,
        )
        return
    yield Finding(
        NOT_CHECKED,
        "permissions",
        f"{cannot}; the user's own policies name every action the broker uses, "
        "but their resources and conditions were not evaluated",
    )
