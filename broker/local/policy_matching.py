"""The shared ground of the local policy evaluator: its error, the condition keys it knows, and matching.

`glob` matches `*` and `?` in linear time (the Referer matcher it replaced was exponential).
Standard library only, pure; see policy_evaluation for what the evaluator models and its sources.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Policy = Mapping[str, Any]
ContextValue = str | Sequence[str]


class PolicyError(ValueError):
    """A document or request this module cannot judge the way AWS would."""


@dataclass(frozen=True)
class Keys:
    """The condition keys a policy may use; a key outside them is more likely a typo than a key AWS ignores."""

    single: frozenset[str]
    multi: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()  # families such as aws:ResourceTag/NAME

    def check(self, key: str) -> bool:
        """True for a multivalued key; raises for an unknown one."""
        name = key.lower()
        if name in self.multi:
            return True
        if name in self.single or any(name.startswith(prefix) and len(name) > len(prefix) for prefix in self.prefixes):
            return False
        raise PolicyError(f"unknown condition key {key!r}")


_SINGLE = """aws:CurrentTime aws:EpochTime aws:SecureTransport aws:SourceIp aws:SourceVpc aws:SourceVpce aws:VpcSourceIp
aws:Referer aws:UserAgent aws:ViaAWSService aws:CalledViaFirst aws:CalledViaLast aws:PrincipalArn aws:PrincipalAccount
aws:PrincipalOrgID aws:PrincipalType aws:PrincipalIsAWSService aws:PrincipalServiceName aws:userid aws:username
aws:SourceArn aws:SourceAccount aws:SourceOwner aws:SourceOrgID aws:ResourceAccount aws:ResourceOrgID
aws:RequestedRegion aws:MultiFactorAuthPresent aws:MultiFactorAuthAge aws:TokenIssueTime s3:prefix s3:delimiter
s3:max-keys s3:ResourceAccount s3:if-none-match s3:if-match s3:x-amz-server-side-encryption
s3:x-amz-server-side-encryption-aws-kms-key-id s3:x-amz-acl s3:authType s3:signatureversion s3:signatureAge
s3:TlsVersion s3:x-amz-content-sha256 s3:versionid s3:AccessPointNetworkOrigin s3:DataAccessPointAccount
s3:DataAccessPointArn kms:ViaService kms:CallerAccount kms:GrantIsForAWSResource iam:PermissionsBoundary
iam:PolicyARN"""
_MULTI = "aws:CalledVia aws:TagKeys aws:PrincipalOrgPaths aws:PrincipalServiceNamesList s3:RequestObjectTagKeys"
_PREFIXES = "aws:PrincipalTag/ aws:RequestTag/ aws:ResourceTag/ s3:ExistingObjectTag/ s3:RequestObjectTag/"
DEFAULT_KEYS = Keys(
    frozenset(_SINGLE.lower().split()),
    frozenset(_MULTI.lower().split()),
    (*_PREFIXES.lower().split(), "kms:encryptioncontext:"),
)


def glob(pattern: str, text: str, *, ignore_case: bool = False, arn: bool = False) -> bool:
    """`*` and `?` wildcards by simulating all pattern positions at once: time is len(pattern) * len(text)
    whatever the pattern, where a backtracking regex can take exponential time. With `arn`, a `*` that does
    not end an ARN segment stays within it, as the Resource element's rules say."""
    if ignore_case:
        pattern, text = pattern.lower(), text.lower()
    end = len(pattern)

    def closure(states: set[int]) -> set[int]:
        for i in sorted(states):
            while i < end and pattern[i] == "*":
                i += 1
                states.add(i)
        return states

    states = closure({0})
    for char in text:
        following: set[int] = set()
        for i in states:
            if i == end:
                continue
            wanted = pattern[i]
            if wanted == "*":
                if not (arn and char == ":" and i + 1 < end and pattern[i + 1] != ":"):
                    following.add(i)
            elif wanted == "?" or wanted == char:
                following.add(i + 1)
        if not following:
            return False
        states = closure(following)
    return end in states


def arn_like(pattern: str, arn: str) -> bool:
    """ArnLike and ArnEquals: each of the six colon-separated parts matched on its own."""
    wanted, given = pattern.split(":", 5), arn.split(":", 5)
    if len(wanted) != 6:
        raise PolicyError(f"not an ARN in an Arn condition: {pattern!r}")
    return len(given) == 6 and all(glob(w, g) for w, g in zip(wanted, given, strict=True))


def strings(value: Any, where: str) -> list[str]:
    values = value if isinstance(value, list) else [value]
    out = []
    for item in values:
        if isinstance(item, bool):
            item = "true" if item else "false"
        if not isinstance(item, str | int | float):
            raise PolicyError(f"{where}: expected strings, got {item!r}")
        out.append(str(item))
    return out


VARIABLE = re.compile(r"\$\{([^}]*)\}")


def check_variables(values: Iterable[str], keys: Keys, where: str) -> None:
    """A policy variable must name a known single-valued key (an unfilled ${PLACEHOLDER} does not)."""
    for value in values:
        for name in VARIABLE.findall(value):
            try:
                multi = keys.check(name)
            except PolicyError:
                raise PolicyError(
                    f"{where}: policy variables are supported for known keys only, not {name!r}"
                ) from None
            if multi:
                raise PolicyError(f"{where}: policy variable {name!r} is multivalued")


def substitute(value: str, values: Mapping[str, ContextValue]) -> str | None:
    """`value` with each ${key} replaced by the request's value, as AWS does in a Resource; None when the
    request lacks a key (then the element matches nothing)."""
    if "${" not in value:
        return value
    missing = False

    def one(match: re.Match[str]) -> str:
        nonlocal missing
        given = values.get(match.group(1).lower())
        if not isinstance(given, str):
            missing = True
            return ""
        return given

    filled = VARIABLE.sub(one, value)
    return None if missing else filled


def no_variables(values: Iterable[str], version: str, where: str) -> None:
    """Policy variables (and unfilled ${PLACEHOLDER}s) would be substituted by AWS; matching them as text would not."""
    if version == "2012-10-17" and any("${" in value for value in values):
        raise PolicyError(f"{where}: policy variables are not supported")
