"""The names people know an instance by (org, space, instance), kept as tags for cost allocation reports.

The Cloud Controller sends them in `context`; an org or space name may hold characters S3 and IAM
tags refuse, so they are made tag-safe the same way every time rather than failing a provision.
Pure functions: no AWS, no Flask.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, fields
from typing import Any

from broker.errors import BadRequest

# The tag keys, the same on the bucket and on its binding users (say them in docs/operators.md).
ORGANIZATION_NAME = "s3-broker:organization-name"
SPACE_NAME = "s3-broker:space-name"
INSTANCE_NAME = "s3-broker:instance-name"

# S3 and IAM tag values: at most 256 characters, Unicode letters, digits and spaces, and _ . : / = + - @.
VALUE_MAX = 256
ALLOWED_PUNCTUATION = frozenset("_.:/=+-@")
# What stands in for a character tags refuse.
REPLACEMENT = "_"


@dataclass(frozen=True)
class Names:
    """None: not known (the platform did not send it), as opposed to a name that is known."""

    organization: str | None = None
    space: str | None = None
    instance: str | None = None

    def merged(self, newer: Names) -> Names:
        """These names with every one `newer` knows replaced by its."""
        return Names(
            organization=newer.organization if newer.organization is not None else self.organization,
            space=newer.space if newer.space is not None else self.space,
            instance=newer.instance if newer.instance is not None else self.instance,
        )

    @property
    def empty(self) -> bool:
        return all(getattr(self, field.name) is None for field in fields(self))


# The context field each name comes from, and its tag key.
_SOURCES = (
    ("organization", "organization_name", ORGANIZATION_NAME),
    ("space", "space_name", SPACE_NAME),
    ("instance", "instance_name", INSTANCE_NAME),
)


def _allowed(character: str) -> bool:
    # Characters outside the Basic Multilingual Plane count twice in some AWS length checks: refused.
    if ord(character) > 0xFFFF:
        return False
    category = unicodedata.category(character)
    return category[0] in "LN" or category == "Zs" or character in ALLOWED_PUNCTUATION


def tag_safe(value: str) -> str:
    """`value` as S3 and IAM tags accept it: each refused character replaced, cut to 256 characters."""
    return "".join(c if _allowed(c) else REPLACEMENT for c in value[:VALUE_MAX])


def names_from_context(context: Any) -> Names:
    """The names an OSB request's context gives (tag-safe); a name it does not give is None."""
    if not isinstance(context, dict):
        return Names()
    found: dict[str, str] = {}
    for attribute, field_name, _key in _SOURCES:
        value = context.get(field_name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise BadRequest(f"context.{field_name} must be a string.")
        found[attribute] = tag_safe(value)
    return Names(**found)


def name_tags(names: Names) -> dict[str, str]:
    """The tags that record the names that are known."""
    return {key: value for attribute, _field, key in _SOURCES if (value := getattr(names, attribute)) is not None}


def names_from_tags(tags: dict[str, str]) -> Names:
    return Names(**{attribute: tags[key] for attribute, _field, key in _SOURCES if key in tags})


def with_names(tag_set: list[dict[str, str]], names: Names) -> list[dict[str, str]]:
    """A bucket's tag set with its name tags replaced by these names' (every other tag kept as it is)."""
    keys = {key for _attribute, _field, key in _SOURCES}
    kept = [tag for tag in tag_set if tag["Key"] not in keys]
    return [*kept, *({"Key": key, "Value": value} for key, value in name_tags(names).items())]


# No name known: what a request without names (and a bucket of an earlier release) has.
NO_NAMES = Names()
