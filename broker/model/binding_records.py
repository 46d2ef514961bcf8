"""What the broker knows about a binding, kept as tags of its IAM user (the broker has no database).

A rotation (OSB 2.17 `predecessor_binding_id`) gives the new binding its predecessor's exact
options, read back from here. IAM tag values allow only letters, digits, spaces and _ . : / = + - @
and 256 characters, so the options are JSON, base64-encoded, cut into numbered tags.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict, fields
from typing import Any

from broker import __version__
from broker.model import records
from broker.model.expiry import Expiry
from broker.model.names import Names, name_tags
from broker.model.parameters import BindingConfig
from broker.model.records import TAG_PREFIX

CONFIG_PART = TAG_PREFIX + "config-"
EXPIRES_AT = TAG_PREFIX + "expires-at"
TAG_VALUE_MAX = 256
# IAM allows 50 tags a user; the broker's other binding tags are a handful, and the three names.
MAX_CONFIG_PARTS = 40


def user_tags(
    instance_id: str, binding_id: str, digest: str, config: BindingConfig, expiry: Expiry | None, names: Names
) -> dict[str, str]:
    """A binding user's whole tag set: what it belongs to, the request's digest, this release, its
    options and expiry, and the names people know its instance by (for cost allocation)."""
    return {
        records.INSTANCE_ID: instance_id,
        records.BINDING_ID: binding_id,
        records.BINDING_DIGEST: digest,
        records.VERSION: __version__,
        **binding_tags(config, expiry),
        **name_tags(names),
    }


def binding_tags(config: BindingConfig, expiry: Expiry | None) -> dict[str, str]:
    """The tags that record a binding's options (and when its key expires)."""
    encoded = base64.b64encode(json.dumps(asdict(config), separators=(",", ":")).encode()).decode()
    parts = [encoded[start : start + TAG_VALUE_MAX] for start in range(0, len(encoded), TAG_VALUE_MAX)]
    if len(parts) > MAX_CONFIG_PARTS:
        raise ValueError(f"binding options need {len(parts)} tags; at most {MAX_CONFIG_PARTS} fit")
    tags = {f"{CONFIG_PART}{index}": part for index, part in enumerate(parts)}
    if expiry:
        tags[EXPIRES_AT] = expiry.iam_time
    return tags


def config_from_tags(tags: dict[str, str]) -> BindingConfig | None:
    """The options a binding was made with; None when its user does not record them (or not readably)."""
    parts = []
    while f"{CONFIG_PART}{len(parts)}" in tags:
        parts.append(tags[f"{CONFIG_PART}{len(parts)}"])
    if not parts:
        return None
    try:
        recorded: dict[str, Any] = json.loads(base64.b64decode("".join(parts), validate=True))
    except (binascii.Error, ValueError):
        return None
    known = {field.name for field in fields(BindingConfig)}
    values = {name: value for name, value in recorded.items() if name in known}
    for name in ("additional_instances", "external_buckets"):
        values[name] = tuple(values.get(name, ()))
    return BindingConfig(**values)


def expiry_from_tags(tags: dict[str, str], days: int | None) -> Expiry | None:
    """When the binding's key expires, as recorded when it was made; None if it does not (or is unreadable)."""
    if days is None or EXPIRES_AT not in tags:
        return None
    try:
        return Expiry.parse(tags[EXPIRES_AT], days)
    except ValueError:
        return None
