"""Condition blocks as AWS evaluates them: operators, IfExists, Null, ForAnyValue/ForAllValues, missing keys.

Source: the IAM User Guide's "IAM JSON policy elements: Condition operators" and "Conditions with
multiple context keys or values". An operator or key it does not know raises PolicyError.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

from broker.local.policy_matching import ContextValue, Keys, PolicyError, arn_like, glob, no_variables, strings


def date(value: str) -> datetime.datetime:
    """ISO 8601 or epoch seconds, both of which AWS accepts on either side of a Date operator."""
    try:
        if value.replace(".", "", 1).isdigit():
            return datetime.datetime.fromtimestamp(float(value), datetime.UTC)
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise PolicyError(f"not a date: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise PolicyError(f"not a number: {value!r}") from None


def ip(pattern: str, address: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(pattern, strict=False)
    except ValueError:
        raise PolicyError(f"not an IP address or CIDR: {pattern!r} / {address!r}") from None


Compare = Callable[[str, str], bool]


def _ordered(order: Callable[[Any, Any], bool], parse: Callable[[str], Any]) -> Compare:
    """The request's value on the left, as in "DateLessThan": the request time is before the policy's."""
    return lambda policy_value, value: order(parse(value), parse(policy_value))


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}
# Positive operators: (policy value, request value) -> match. A negated operator is true when none match.
POSITIVE: dict[str, Compare] = {
    "StringEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": lambda p, v: glob(p, v),
    "ArnEquals": arn_like,
    "ArnLike": arn_like,
    "IpAddress": ip,
    "Bool": lambda p, v: p.lower() == v.lower(),
    **{f"Numeric{n}": _ordered(f, number) for n, f in _ORDER.items()},
    **{f"Date{n}": _ordered(f, date) for n, f in _ORDER.items()},
}
NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NotIpAddress": "IpAddress",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
}


def condition_holds(condition: Any, values: Mapping[str, ContextValue], keys: Keys, version: str) -> bool:
    if not isinstance(condition, Mapping):
        raise PolicyError(f"Condition must be an object, got {condition!r}")
    holds = True  # evaluate every block, so an unknown operator or key raises wherever it is
    for operator, tests in condition.items():
        qualifier, _, name = operator.rpartition(":")
        if qualifier not in ("", "ForAnyValue", "ForAllValues"):
            raise PolicyError(f"unknown set operator in {operator!r}")
        if_exists = name.endswith("IfExists") and name != "IfExists"
        base = name.removesuffix("IfExists") if if_exists else name
        if (base not in POSITIVE and base not in NEGATED and base != "Null") or (base == "Null" and if_exists):
            raise PolicyError(f"unknown condition operator {operator!r}")
        if not isinstance(tests, Mapping):
            raise PolicyError(f"{operator}: expected an object of condition keys")
        for key, raw in tests.items():
            multi = keys.check(key)
            wanted = strings(raw, f"{operator} {key}")
            no_variables(wanted, version, f"{operator} {key}")
            given = values.get(key.lower())
            present = [given] if isinstance(given, str) else list(given or [])
            if base == "Null":
                holds = holds and any((w.lower() == "true") == (not present) for w in wanted)
                continue
            if multi and not qualifier:
                raise PolicyError(f"{operator} on multivalued key {key!r} needs ForAnyValue: or ForAllValues:")
            compare = POSITIVE[NEGATED.get(base, base)]

            def one(value: str, compare: Compare = compare, base: str = base, wanted: list[str] = wanted) -> bool:
                matched = any(compare(w, value) for w in wanted)
                return not matched if base in NEGATED else matched

            if qualifier == "ForAllValues":
                result = all(one(value) for value in present)  # an absent key or empty set: true
            elif qualifier == "ForAnyValue":
                result = any(one(value) for value in present)  # an absent key or empty set: false
            elif not present:
                result = if_exists or base in NEGATED
            else:
                result = one(present[0])
            holds = holds and result
    return holds
