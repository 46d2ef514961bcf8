"""IAM and S3 policy documents judged as AWS judges a request, so a local backend refuses what AWS would refuse.

Standard library only. What it does not know (an operator, a condition key, a policy element, a policy
variable) raises PolicyError: a gate that guessed would allow or deny differently from AWS without saying so.
Sources: the IAM User Guide's "Policy evaluation logic" pages, "IAM JSON policy elements: Condition
operators", "Conditions with multiple context keys or values", and the S3 User Guide's "The meaning of public".
The evaluator is split by job: policy_matching (keys, glob), policy_conditions (operators),
policy_statements (documents and requests), and this module (the decision, "public").
Only the local backend uses it: on Cloud Foundry AWS itself decides.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from broker.local.policy_conditions import ip
from broker.local.policy_matching import DEFAULT_KEYS, Keys, Policy, PolicyError, glob, strings
from broker.local.policy_statements import Request, Statement, applies, principal_kind, statements

__all__ = ["DEFAULT_KEYS", "Decision", "Keys", "PolicyError", "Request", "Result", "evaluate", "glob", "is_public"]


class Decision(enum.Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True)
class Result:
    decision: Decision
    reason: str  # names the policy and statement (Sid) that decided, for logs and error messages

    def __bool__(self) -> bool:
        return self.decision is Decision.ALLOW


def evaluate(
    request: Request,
    identity_policies: Sequence[Policy] = (),
    boundary: Policy | None = None,
    resource_policy: Policy | None = None,
    *,
    restrict_public_buckets: bool = False,
    keys: Keys = DEFAULT_KEYS,
) -> Result:
    """The decision AWS makes for an IAM user (or anonymous caller) under these policies.

    Explicit deny anywhere wins. Within one account an Allow in the identity policies (and the boundary, when
    given) or a resource-policy Allow naming the user (or everyone) suffices: a boundary does not limit what
    a resource policy grants the user's ARN, though a grant to the user's account still needs the identity
    policies. Across accounts both sides must allow. With RestrictPublicBuckets, a public resource policy
    grants nothing to anonymous or other-account callers. BlockPublicPolicy is the caller's to check.
    """
    anonymous = request.principal_arn is None
    if anonymous and (identity_policies or boundary is not None):
        raise PolicyError("an anonymous request has no identity policies or boundary")
    identity = [s for i, p in enumerate(identity_policies) for s in statements(p, f"identity policy {i}", False, keys)]
    bounds = statements(boundary, "permissions boundary", False, keys) if boundary is not None else []
    resource = statements(resource_policy, "resource policy", True, keys) if resource_policy else []
    values = request.values()
    for name, value in values.items():
        if keys.check(name) == isinstance(value, str):
            raise PolicyError(f"context key {name!r} needs {'a list' if isinstance(value, str) else 'one string'}")

    def matching(statements: list[Statement], effect: str) -> list[Statement]:
        return [s for s in statements if s.effect == effect and applies(s, request, values, keys)]

    resource_hits = [(s, kind) for s in resource if (kind := principal_kind(s, request))]
    for statement in [*matching(identity, "Deny"), *matching(bounds, "Deny")] + [
        s for s, _ in resource_hits if s.effect == "Deny" and applies(s, request, values, keys)
    ]:
        return Result(Decision.EXPLICIT_DENY, f"denied by {statement.label}")
    cross_account = not anonymous and request.owner != request.principal_account
    if restrict_public_buckets and resource_policy and (anonymous or cross_account) and is_public(resource_policy):
        resource_hits = []
    grants = [(s, kind) for s, kind in resource_hits if s.effect == "Allow" and applies(s, request, values, keys)]
    allows = matching(identity, "Allow")
    bounded = matching(bounds, "Allow")
    identity_ok = bool(allows) and (boundary is None or bool(bounded))
    direct = [s for s, kind in grants if kind == "direct"]
    if anonymous or not cross_account:
        if direct:
            return Result(Decision.ALLOW, f"allowed by {direct[0].label}")
        if identity_ok:
            return Result(
                Decision.ALLOW, f"allowed by {allows[0].label}" + (f" within {bounded[0].label}" if bounded else "")
            )
    elif grants and identity_ok:
        return Result(Decision.ALLOW, f"allowed by {allows[0].label} and {grants[0][0].label}")
    if allows and not identity_ok:
        return Result(Decision.IMPLICIT_DENY, f"{allows[0].label} allows it, the permissions boundary does not")
    if cross_account and grants:
        return Result(Decision.IMPLICIT_DENY, f"{grants[0][0].label} allows it, no identity policy does")
    if cross_account and allows:
        return Result(Decision.IMPLICIT_DENY, f"{allows[0].label} allows it, the resource policy does not")
    return Result(Decision.IMPLICIT_DENY, "no statement allows it")


# --- "The meaning of public" (S3 User Guide) -----------------------------------------------------------------

FIXED_VALUE_KEYS = frozenset(
    k.lower()
    for k in (
        "aws:SourceArn",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:SourceOwner",
        "aws:SourceAccount",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalOrgID",
        "aws:userid",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "s3:DataAccessPointArn",
        "s3:DataAccessPointAccount",
    )
)
BAD_ACTIONS = ("s3:Get*", "s3:List*", "s3:AbortMultipartUpload", "s3:Delete*", "s3:Put*", "s3:RestoreObject")
_LIMITING = ("StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike")


def _limits(condition: Mapping[str, Any]) -> bool:
    """Whether some condition pins the statement to fixed values (conditions are ANDed, so one suffices)."""
    for operator, tests in condition.items():
        name = operator.removeprefix("ForAnyValue:")
        for key, raw in tests.items():
            wanted, key = strings(raw, operator), key.lower()
            if name == "IpAddress" and key == "aws:sourceip":
                if all(
                    ip(w, "0.0.0.0") is not None and ipaddress.ip_network(w, strict=False).prefixlen for w in wanted
                ):
                    return True
            elif (
                name in _LIMITING
                and key in FIXED_VALUE_KEYS
                and not any(c in w for w in wanted for c in "*?$")
                and (key != "aws:userid" or not any(glob("AROA*:*", w) for w in wanted))
            ):
                return True
    return False


def is_public(policy: Policy | None, keys: Keys = DEFAULT_KEYS) -> bool:
    """True when an Allow reaches everyone with a "bad" (read, list, write, delete) action and no fixed value
    limits it. A Deny is never public. Actions given with wildcards or as NotAction count as bad."""
    for statement in statements(policy or {}, "resource policy", True, keys):
        body = statement.body
        everyone = (
            "NotPrincipal" in body
            or body["Principal"] == "*"
            or (
                isinstance(body["Principal"], Mapping) and "*" in strings(body["Principal"].get("AWS", []), "Principal")
            )
        )
        if statement.effect != "Allow" or not everyone:
            continue
        actions = strings(body["Action"], statement.label) if "Action" in body else ["*"]
        bad = any("*" in a or "?" in a or any(glob(b, a, ignore_case=True) for b in BAD_ACTIONS) for a in actions)
        if bad and not _limits(body.get("Condition", {})):
            return True
    return False
