"""Requests and the statements of a policy document: checked up front, then matched against a request.

Sources: the IAM User Guide's "IAM JSON policy elements" pages (Action, NotAction, Resource,
NotResource, Principal).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from broker.local.policy_conditions import condition_holds
from broker.local.policy_matching import (
    ContextValue,
    Keys,
    Policy,
    PolicyError,
    check_variables,
    glob,
    no_variables,
    strings,
    substitute,
)


@dataclass(frozen=True)
class Request:
    """One request as AWS sees it. principal_arn None is an anonymous caller; resource_account None is the
    principal's own account (S3 ARNs carry no account). aws:PrincipalArn, aws:PrincipalAccount,
    aws:ResourceAccount and s3:ResourceAccount are filled in from these fields when `context` lacks them."""

    action: str
    resource: str
    principal_arn: str | None = None
    principal_account: str | None = None
    resource_account: str | None = None
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    def values(self) -> dict[str, ContextValue]:
        derived = {
            "aws:PrincipalArn": self.principal_arn,
            "aws:PrincipalAccount": self.principal_account,
            # An IAM user's name (the last part of its ARN), as ${aws:username} is filled in.
            "aws:username": self.principal_arn.rsplit("/", 1)[1]
            if self.principal_arn and ":user/" in self.principal_arn
            else None,
            "aws:ResourceAccount": self.owner,
            "s3:ResourceAccount": self.owner,
        }
        if not self.action.lower().startswith("s3:"):
            del derived["s3:ResourceAccount"]
        merged = {key.lower(): value for key, value in derived.items() if value is not None}
        merged.update((key.lower(), value) for key, value in self.context.items())
        return merged

    @property
    def owner(self) -> str | None:
        return self.resource_account or self.principal_account


STATEMENT_ELEMENTS = {
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
}


@dataclass(frozen=True)
class Statement:
    label: str
    effect: str
    body: Mapping[str, Any]
    version: str


def statements(policy: Policy, label: str, resource_based: bool, keys: Keys) -> list[Statement]:
    """Every statement, checked up front: an error in a statement that does not apply is still an error."""
    unknown = set(policy) - {"Version", "Id", "Statement"}
    version = policy.get("Version", "2008-10-17")
    if unknown or version not in ("2012-10-17", "2008-10-17"):
        raise PolicyError(f"{label}: unknown elements {sorted(unknown)} or Version {version!r}")
    raw = policy.get("Statement", [])
    out = []
    for index, body in enumerate(raw if isinstance(raw, list) else [raw]):
        where = f"{label} statement {body.get('Sid') or index}" if isinstance(body, Mapping) else label
        if (
            not isinstance(body, Mapping)
            or set(body) - STATEMENT_ELEMENTS
            or body.get("Effect") not in ("Allow", "Deny")
        ):
            raise PolicyError(f"{where}: unknown element or Effect in {body!r}")
        pairs = [("Action", "NotAction"), ("Resource", "NotResource")]
        if resource_based:
            pairs.append(("Principal", "NotPrincipal"))
        elif "Principal" in body or "NotPrincipal" in body:
            raise PolicyError(f"{where}: Principal belongs in resource-based policies only")
        for one, other in pairs:
            if (one in body) == (other in body):
                raise PolicyError(f"{where}: needs exactly one of {one} and {other}")
        for name in ("Action", "NotAction"):
            for action in strings(body.get(name, []), where):
                if action != "*" and ":" not in action:
                    raise PolicyError(f"{where}: not an action: {action!r}")
        resources = strings(body.get("Resource", body.get("NotResource")), where)
        if any(r != "*" and not r.startswith("arn:") for r in resources):
            raise PolicyError(f"{where}: not an ARN: {resources!r}")
        if version == "2012-10-17":
            check_variables(resources, keys, where)
        else:
            no_variables(resources, version, where)
        condition_holds(body.get("Condition", {}), {}, keys, version)  # raises on what it does not know
        out.append(Statement(where, body["Effect"], body, version))
    return out


def principal_match(principal: Any, request: Request) -> str | None:
    """How the Principal names the caller: 'direct' (itself or everyone), 'account' (its account), or None."""
    if principal == "*":
        return "direct"
    if not isinstance(principal, Mapping) or set(principal) - {"AWS", "Service", "Federated", "CanonicalUser"}:
        raise PolicyError(f"unknown Principal {principal!r}")
    for name in strings(principal.get("AWS", []), "Principal"):
        if name == "*" or (request.principal_arn is not None and name == request.principal_arn):
            return "direct"
        account = name.removeprefix("arn:").split(":")[3] if name.endswith(":root") else name
        if request.principal_arn is not None and account == request.principal_account:
            return "account"
    return None  # service, federated and canonical-user principals never name an IAM user or anonymous caller


def applies(statement: Statement, request: Request, values: Mapping[str, ContextValue], keys: Keys) -> bool:
    body = statement.body
    actions = strings(body.get("Action", body.get("NotAction")), statement.label)
    if any(glob(a, request.action, ignore_case=True) for a in actions) != ("Action" in body):
        return False
    resources = [substitute(r, values) for r in strings(body.get("Resource", body.get("NotResource")), statement.label)]
    matched = any(r is not None and (r == "*" or glob(r, request.resource, arn=True)) for r in resources)
    if matched != ("Resource" in body):
        return False
    return "Condition" not in body or condition_holds(body["Condition"], values, keys, statement.version)


def principal_kind(statement: Statement, request: Request) -> str | None:
    if "NotPrincipal" in statement.body:
        return None if principal_match(statement.body["NotPrincipal"], request) else "direct"
    return principal_match(statement.body["Principal"], request)
