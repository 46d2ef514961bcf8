"""Request parameters: validated against the schemas the catalog publishes, then turned into configs."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError

from broker.errors import InvalidParameters
from broker.model.bucket_options import BucketOptions, check_public_only, options_from
from broker.model.catalog import Plan

READ_WRITE = "read-write"
READ_ONLY = "read-only"
WRITE_ONLY = "write-only"

_TYPE_NAMES = {
    "boolean": "true or false",
    "integer": "a whole number",
    "string": "a string",
    "array": "a list",
    "object": "a JSON object",
}
MAX_KEY_SHOWN = 40  # of a refused tag key in the error: enough to find it, not a page of it
_TAG_RULE = (
    "tag keys are 1-128 and values 0-256 characters of letters, digits, spaces and _ . : / = + - @; "
    "keys may not start with aws: or s3-broker:"
)


# What a value of each parameter must look like, said when a value does not.
_PATTERN_HINTS = {
    "additional_instances": " (give an instance GUID, which `cf service NAME --guid` prints)",
    "path_prefix": (
        " (a prefix of object names such as images/: no leading '/', no '..', no * or ?, "
        "only letters, digits and ! _ . ' ( ) - /)"
    ),
    "external_buckets": " (an S3 bucket name: 3-63 characters of a-z, 0-9, '.' and '-')",
    "kms_key_arn": " (a KMS key ARN: arn:aws:kms:REGION:ACCOUNT:key/ID; aliases are not accepted)",
}


@dataclass(frozen=True)
class InstanceConfig:
    """What a bucket should look like, whichever request asked for it."""

    public: bool = False
    versioning: bool = False
    cors_rules: list[dict[str, Any]] = field(default_factory=list)
    kms_key_arn: str | None = None
    user_tags: dict[str, str] = field(default_factory=dict)
    delete_objects: bool = False
    options: BucketOptions = field(default_factory=BucketOptions)

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
        return {**parameters, **self.options.as_parameters()}


@dataclass(frozen=True)
class BindingConfig:
    permissions: str = READ_WRITE
    allow_external_access: bool = False
    path_prefix: str | None = None
    additional_instances: tuple[str, ...] = ()
    external_buckets: tuple[str, ...] = ()
    expires_in_days: int | None = None

    @property
    def read_only(self) -> bool:
        return self.permissions == READ_ONLY

    @property
    def write_only(self) -> bool:
        return self.permissions == WRITE_ONLY


def _path(error: ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path)


def _bad_key(error: ValidationError) -> str:
    """The first key neither a property nor a pattern allows, quoted as JSON (a hostile key prints as
    text), cut short. jsonschema reports additionalProperties only when there is such a key."""
    named = error.schema.get("properties", {})
    patterns = [re.compile(ecma_regex(pattern)) for pattern in error.schema.get("patternProperties", {})]
    key = min(key for key in error.instance if key not in named and not any(p.search(key) for p in patterns))
    return json.dumps(key if len(key) <= MAX_KEY_SHOWN else key[:MAX_KEY_SHOWN] + "...")


def _describe(error: ValidationError, schema: dict[str, Any]) -> str:
    path = _path(error)
    if error.validator == "additionalProperties" and not path:
        allowed = ", ".join(sorted(schema.get("properties", {})))
        unknown = sorted(set(error.instance) - set(schema.get("properties", {})))
        return f"unknown parameter {', '.join(repr(name) for name in unknown)}. Allowed parameters: {allowed}."
    # A failing pattern property is reported at the property's own path, by the inner validator.
    if path == "tags" and error.validator == "additionalProperties":
        return f"parameter 'tags' has a key that is not allowed: {_bad_key(error)} ({_TAG_RULE})"
    if path.startswith("tags.") and error.validator == "pattern":
        return f"parameter '{path}' has a value that is not allowed ({_TAG_RULE})"
    if error.validator == "type":
        wanted = _TYPE_NAMES.get(str(error.validator_value), str(error.validator_value))
        return f"parameter '{path}' must be {wanted}, not {json.dumps(error.instance)}"
    if error.validator == "enum":
        choices = ", ".join(json.dumps(choice) for choice in error.validator_value)
        return f"parameter '{path}' must be one of {choices}, not {json.dumps(error.instance)}"
    if error.validator == "pattern":
        hint = _PATTERN_HINTS.get(path.split(".")[0], "")
        return f"parameter '{path}' has the wrong form: {json.dumps(error.instance)}{hint}"
    return f"parameter '{path}': {error.message}" if path else error.message


def ecma_regex(pattern: str) -> str:
    """A JSON Schema pattern (ECMA 262) as a Python regex with the same meaning.

    In ECMA 262 `$` matches only at the very end of the text; in Python it also matches before a
    final newline, so "images/\\n" would pass "^[a-z/]+$". Unescaped `$` outside a character
    class becomes `\\Z`.
    """
    translated: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            translated.append("\\Z")
            continue
        translated.append(char)
    return "".join(translated)


def python_schema(node: Any) -> Any:
    """The schema with every `pattern` and `patternProperties` key translated by ecma_regex."""
    if isinstance(node, list):
        return [python_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    translated: dict[str, Any] = {}
    for key, value in node.items():
        if key == "pattern" and isinstance(value, str):
            translated[key] = ecma_regex(value)
        elif key == "patternProperties" and isinstance(value, dict):
            translated[key] = {ecma_regex(p): python_schema(sub) for p, sub in value.items()}
        elif key in ("properties", "definitions") and isinstance(value, dict):
            translated[key] = {name: python_schema(sub) for name, sub in value.items()}
        else:
            translated[key] = python_schema(value)
    return translated


# Validators are built once per published schema; the schema is kept so its id is never reused.
_VALIDATORS: dict[int, tuple[dict[str, Any], Draft4Validator]] = {}


def _validator(schema: dict[str, Any]) -> Draft4Validator:
    cached = _VALIDATORS.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = (schema, Draft4Validator(python_schema(schema)))
        _VALIDATORS[id(schema)] = cached
    return cached[1]


# What XML 1.0 cannot carry (S3's request bodies are XML): control characters other than tab, line
# feed and carriage return, lone surrogates (which no UTF-8 encodes either), U+FFFE and U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def check_characters(value: Any, path: str = "") -> None:
    """Refuse any string, key or value, that S3's XML or AWS's UTF-8 JSON cannot carry, naming where.

    A schema pattern cannot say this for every string (CORS origins and headers are free text), and
    AWS would answer such a body with an error the broker can only pass on as a 502.
    """
    if isinstance(value, str):
        found = _NOT_XML.search(value)
        if found:
            raise InvalidParameters(
                f"parameter '{path}' holds the character U+{ord(found.group()):04X}, which S3 cannot take "
                "(no control characters but tab and line breaks, no lone surrogates, no U+FFFE or U+FFFF)"
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            check_characters(key, inner)
            check_characters(item, inner)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_characters(item, f"{path}.{index}" if path else str(index))


def validate(schema: dict[str, Any], parameters: Any) -> dict[str, Any]:
    """Check parameters against a published schema; raise InvalidParameters naming what is wrong."""
    if parameters is None:
        return {}
    if not isinstance(parameters, dict):
        raise InvalidParameters("parameters must be a JSON object")
    check_characters(parameters)
    errors = sorted(_validator(schema).iter_errors(parameters), key=lambda e: (len(e.absolute_path), _path(e)))
    if errors:
        raise InvalidParameters("; ".join(dict.fromkeys(_describe(error, schema) for error in errors[:5])))
    return parameters


def instance_config_for_create(plan: Plan, parameters: Any) -> InstanceConfig:
    given = validate(plan.instance_create_schema, parameters)
    public = plan.always_public or given.get("public_bucket", plan.public_by_default)
    options = options_from(given, BucketOptions())
    check_public_only(options, public)
    return InstanceConfig(
        public=public,
        versioning=given.get("versioning", False),
        cors_rules=given.get("cors_rules", []),
        kms_key_arn=given.get("kms_key_arn"),
        user_tags=given.get("tags", {}),
        delete_objects=given.get("delete_objects_with_service", False),
        options=options,
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
    options = options_from(given, current.options)
    check_public_only(options, public)
    return InstanceConfig(
        public=public,
        versioning=given.get("versioning", current.versioning),
        cors_rules=given.get("cors_rules", current.cors_rules),
        kms_key_arn=given.get("kms_key_arn", current.kms_key_arn),
        user_tags=given.get("tags", current.user_tags),
        delete_objects=given.get("delete_objects_with_service", current.delete_objects),
        options=options,
    )


def binding_config(plan: Plan, parameters: Any) -> BindingConfig:
    given = validate(plan.binding_create_schema, parameters)
    return BindingConfig(
        permissions=given.get("permissions", READ_WRITE),
        allow_external_access=given.get("allow_external_access", False),
        path_prefix=given.get("path_prefix"),
        additional_instances=tuple(given.get("additional_instances", ())),
        external_buckets=tuple(given.get("external_buckets", ())),
        expires_in_days=given.get("expires_in_days"),
    )


def check_kms_key_allowed(kms_key_arn: str | None, allowed: tuple[str, ...]) -> None:
    """Only keys the operator allows: any other key would be one whose grants nobody here controls."""
    if kms_key_arn is None or kms_key_arn in allowed:
        return
    if not allowed:
        raise InvalidParameters(
            "parameter 'kms_key_arn': this platform allows no customer KMS keys; leave it out for SSE-S3 encryption, "
            "or ask your platform operator to allow your key"
        )
    raise InvalidParameters(
        f"parameter 'kms_key_arn': {kms_key_arn} is not a key this platform allows. Allowed keys: {', '.join(allowed)}"
    )


def fingerprint(value: Any) -> str:
    """A short stable digest of a JSON-able value, to tell a repeated request from a different one."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=list)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
