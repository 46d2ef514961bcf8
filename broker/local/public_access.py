"""Whether a bucket lets anyone read an object, judged as S3 judges an anonymous GET. Pure functions.

Only what the local backend needs: the statements of a bucket policy whose Principal is everyone,
with Conditions only of the operators StringLike, StringEquals, Bool and Null on what the request
tells (its Referer, whether it came over TLS; an anonymous request carries no aws:PrincipalArn), and
Block Public Access's RestrictPublicBuckets, which makes S3 ignore a public policy for anonymous
callers. A statement with any other Condition is
judged the safe way: an Allow does not apply, a Deny does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from broker.local.policy_matching import glob


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(patterns: Any, value: str, *, ignore_case: bool) -> bool:
    # glob runs in linear time: the regex it replaced backtracked exponentially on a Referer of
    # 32 characters against a pattern of many wildcards (seconds per request, freezing the backend).
    patterns = [pattern for pattern in _as_list(patterns) if isinstance(pattern, str)]
    return any(glob(pattern, value, ignore_case=ignore_case) for pattern in patterns)


def is_everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, Mapping) and "*" in _as_list(principal.get("AWS"))


def condition_holds(condition: Any, context: Mapping[str, str]) -> bool | None:
    """Whether a statement's Condition holds for a request with these context keys; None when it
    uses anything this module does not evaluate. A key the request lacks makes its test false."""
    if not isinstance(condition, Mapping):
        return None
    values = {key.lower(): value for key, value in context.items()}
    for operator, tests in condition.items():
        if operator not in ("StringLike", "StringEquals", "Bool", "Null") or not isinstance(tests, Mapping):
            return None
        for key, expected in tests.items():
            actual = values.get(str(key).lower())
            if operator == "Null":  # "true": the request lacks the key (an anonymous one lacks aws:PrincipalArn)
                if (actual is None) != (str(expected).lower() == "true"):
                    return False
                continue
            if actual is None:
                return False
            if operator == "StringLike":
                holds = _matches(expected, actual, ignore_case=False)
            elif operator == "StringEquals":
                holds = actual in _as_list(expected)
            else:
                holds = actual.lower() in [str(value).lower() for value in _as_list(expected)]
            if not holds:
                return False
    return True


def anyone_may(
    policy: Mapping[str, Any] | None,
    restrict_public_buckets: bool,
    action: str,
    resource_arn: str,
    context: Mapping[str, str] | None = None,
) -> bool:
    """True when the bucket policy lets everyone do `action` on `resource_arn` and nothing denies it.

    `context` holds the request's condition keys (aws:Referer, aws:SecureTransport).
    """
    if restrict_public_buckets or not policy:
        return False
    allowed = False
    for statement in _as_list(policy.get("Statement", [])):
        if not isinstance(statement, Mapping) or not is_everyone(statement.get("Principal")):
            continue
        if "NotAction" in statement or "NotResource" in statement:
            continue  # not a plain public grant; AWS would evaluate it against the caller
        if not _matches(statement.get("Action"), action, ignore_case=True):
            continue
        if not _matches(statement.get("Resource"), resource_arn, ignore_case=False):
            continue
        deny = statement.get("Effect") == "Deny"
        if "Condition" in statement:
            holds = condition_holds(statement["Condition"], context or {})
            if holds is False or (holds is None and not deny):
                continue
        if deny:
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def object_read_action(query: Mapping[str, Any]) -> str:
    """The action S3 checks for a GET or HEAD of an object: a specific version needs its own."""
    return "s3:GetObjectVersion" if "versionId" in query else "s3:GetObject"
