"""Condition blocks of the broker's policies, as plain dicts. Pure functions.

Each key is one AWS documents for the actions it is attached to; the tests check every document
that uses them with parliament.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def with_condition(condition: dict[str, Any], more: dict[str, Any] | None) -> dict[str, Any]:
    """Both conditions at once: AWS ANDs a statement's operators, and the keys within one."""
    merged = {operator: dict(keys) for operator, keys in condition.items()}
    for operator, keys in (more or {}).items():
        merged.setdefault(operator, {}).update(keys)
    return merged


def resource_account_condition(accounts: Sequence[str]) -> dict[str, Any]:
    """True only for buckets of these accounts (S3 knows each bucket's owner, whatever its name)."""
    return {"StringEquals": {"s3:ResourceAccount": sorted(set(accounts))}}


def until_condition(expires_at: str) -> dict[str, Any]:
    """True only before `expires_at` (ISO 8601, UTC): AWS compares it with the time of each request."""
    return {"DateLessThan": {"aws:CurrentTime": expires_at}}


def outside_platform_condition(source_cidrs: Sequence[str], vpc_endpoints: Sequence[str]) -> dict[str, Any]:
    """True for a request from none of the platform's address ranges and none of its S3 VPC endpoints.

    A Deny's condition operators are ANDed: deny when the address is outside every range AND the
    endpoint is none of the platform's. A request through a VPC endpoint carries no aws:SourceIp,
    and one from the internet no aws:SourceVpce; for these negated operators an absent key counts
    as "not one of the allowed" (the IfExists forms say so explicitly), so each path is judged by
    the key it has.
    """
    if not vpc_endpoints:
        return {"NotIpAddress": {"aws:SourceIp": list(source_cidrs)}}
    condition: dict[str, Any] = {"StringNotEqualsIfExists": {"aws:SourceVpce": list(vpc_endpoints)}}
    if source_cidrs:
        condition["NotIpAddressIfExists"] = {"aws:SourceIp": list(source_cidrs)}
    return condition
