"""Request parameters: validated against the schemas the catalog publishes, then turned into configs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError

from broker.catalog import Plan
from broker.errors import InvalidParameters

READ_WRITE = "read-write"
READ_ONLY = "read-only"

_TYPE_NAMES = {"boolean": "true or false", "string": "a string", "array": "a list", "object": "a JSON object"}
_TAG_RULE = (
    "tag keys are 1-128 and values 0-256 characters of letters, digits, spaces and _ . : / = + - @; "
    "keys may not start with aws: or s3-broker:"
)


@dataclass(frozen=True)
class InstanceConfig:
    """What a bucket should look like, whichever request asked for it."""

    public: bool = False
    versioning: bool = False
    cors_rules: list[dict[str, Any]] = field(default_factory=list)
    kms_key_arn: str | None = None
    user_tags: dict[str, str] = field(default_factory=dict)
    delete_objects: bool = False

    def as_parameters(self) -> dict[str, Any]:
        """The parameters a user would pass to get this config (what `cf service --params` shows)."""
        parameters: dict[str, Any] = {
            "public_bucket": self.public,
            "versioning": self.versioning,
            "delete_objects_with_service": self.delete_objects,
        }
        if self.cors_rules:
            parameters["cors_rules"] = self.cors_rules
        if self.kms_key_arn:
            parameters["kms_key_arn"] = self.kms_key_arn
        if self.user_tags:
            parameters["tags"] = self.user_tags
        return parameters


@dataclass(frozen=True)
class BindingConfig:
    permissions: str = READ_WRITE
    allow_external_access: bool = False
    path_prefix: str | None = None
    additional_instances: tuple[str, ...] = ()
    external_buckets: tuple[str, ...] = ()

    @property
    def read_only(self) -> bool:
        return self.permissions == READ_ONLY


def _path(error: ValidationError) -> str:
    parts = [str(part) for part in error.absolute_path]
    return ".".join(parts) if parts else ""


def _describe(error: ValidationError, schema: dict[str, Any]) -> str:
    path = _path(error)
    if error.validator == "additionalProperties" and not path:
        allowed = ", ".join(sorted(schema.get("properties", {})))
        unknown = sorted(set(error.instance) - set(schema.get("properties", {})))
        return f"unknown parameter {', '.join(repr(name) for name in unknown)}. Allowed parameters: {allowed}."
    if path == "tags" and error.validator in ("additionalProperties", "patternProperties"):
        return f"parameter 'tags' has a key that is not allowed ({_TAG_RULE})"
    if path.startswith("tags.") and error.validator == "pattern":
        return f"parameter '{path}' has a value that is not allowed ({_TAG_RULE})"
    if error.validator == "type":
        wanted = _TYPE_NAMES.get(str(error.validator_value), str(error.validator_value))
        return f"parameter '{path}' must be {wanted}, not {json.dumps(error.instance)}"
    if error.validator == "enum":
        choices = ", ".join(json.dumps(choice) for choice in error.validator_value)
        return f"parameter '{path}' must be one of {choices}, not {json.dumps(error.instance)}"
    if error.validator == "pattern":
        return f"parameter '{path}' has the wrong form: {json.dumps(error.instance)}"
    return f"parameter '{path}': {error.message}" if path else error.message


def validate(schema: dict[str, Any], parameters: Any) -> dict[str, Any]:
    """Check parameters against a published schema; raise InvalidParameters naming what is wrong."""
    if parameters is None:
        return {}
    if not isinstance(parameters, dict):
        raise InvalidParameters("parameters must be a JSON object")
    errors = sorted(Draft4Validator(schema).iter_errors(parameters), key=lambda e: (len(e.absolute_path), _path(e)))
    if errors:
        raise InvalidParameters("; ".join(dict.fromkeys(_describe(error, schema) for error in errors[:5])))
    return parameters


def instance_config_for_create(plan: Plan, parameters: Any) -> InstanceConfig:
    given = validate(plan.instance_create_schema, parameters)
    return InstanceConfig(
        public=plan.always_public or given.get("public_bucket", plan.public_by_default),
        versioning=given.get("versioning", False),
        cors_rules=given.get("cors_rules", []),
        kms_key_arn=given.get("kms_key_arn"),
        user_tags=given.get("tags", {}),
        delete_objects=given.get("delete_objects_with_service", False),
    )


def instance_config_for_update(
    current: InstanceConfig, current_plan: Plan, new_plan: Plan, parameters: Any
) -> InstanceConfig:
    """Merge an update's parameters over the current config; a plan change resets public access."""
    given = validate(new_plan.instance_update_schema, parameters)
    if new_plan.always_public:
        public = True
    elif "public_bucket" in given:
        public = given["public_bucket"]
    elif new_plan.id != current_plan.id:
        public = new_plan.public_by_default
    else:
        public = current.public
    return InstanceConfig(
        public=public,
        versioning=given.get("versioning", current.versioning),
        cors_rules=given.get("cors_rules", current.cors_rules),
        kms_key_arn=given.get("kms_key_arn", current.kms_key_arn),
        user_tags=given.get("tags", current.user_tags),
        delete_objects=given.get("delete_objects_with_service", current.delete_objects),
    )


def binding_config(plan: Plan, parameters: Any) -> BindingConfig:
    given = validate(plan.binding_create_schema, parameters)
    return BindingConfig(
        permissions=given.get("permissions", READ_WRITE),
        allow_external_access=given.get("allow_external_access", False),
        path_prefix=given.get("path_prefix"),
        additional_instances=tuple(given.get("additional_instances", ())),
        external_buckets=tuple(given.get("external_buckets", ())),
    )


def fingerprint(value: Any) -> str:
    """A short stable digest of a JSON-able value, to tell a repeated request from a different one."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=list)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
