"""Parameter validation against the published schemas, and how updates merge over what exists."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import pytest

from broker.errors import InvalidParameters
from broker.model import parameters
from broker.model.catalog import load_catalog
from broker.model.parameters import (
    BindingConfig,
    InstanceConfig,
    binding_config,
    check_kms_key_allowed,
    ecma_regex,
    fingerprint,
    instance_config_for_create,
    instance_config_for_update,
    python_schema,
    validate,
)
from testing.harness import BASIC, BASIC_PUBLIC, REPO

CATALOG = load_catalog(Path(REPO / "catalog.yml"))
PRIVATE, PUBLIC = CATALOG.plans[BASIC], CATALOG.plans[BASIC_PUBLIC]


def test_defaults_follow_the_plan() -> None:
    assert instance_config_for_create(PRIVATE, None) == InstanceConfig()
    assert instance_config_for_create(PUBLIC, {}).public is True
    assert instance_config_for_create(PRIVATE, {"public_bucket": True}).public is True


def test_unknown_parameter_is_named_with_the_allowed_ones() -> None:
    with pytest.raises(InvalidParameters) as caught:
        instance_config_for_create(PRIVATE, {"public_buckett": True})
    assert str(caught.value) == (
        "unknown parameter 'public_buckett'. Allowed parameters: cors_rules, delete_objects_with_service, "
        "kms_key_arn, lifecycle, object_ownership, public_bucket, public_read_referers, require_tls, tags, "
        "versioning, website."
    )


def test_wrong_type_is_named() -> None:
    with pytest.raises(InvalidParameters, match="parameter 'versioning' must be true or false, not \"yes\""):
        instance_config_for_create(PRIVATE, {"versioning": "yes"})


def test_public_plan_cannot_be_made_private_by_parameter() -> None:
    with pytest.raises(InvalidParameters, match="public_bucket"):
        instance_config_for_create(PUBLIC, {"public_bucket": False})


def test_update_keeps_what_is_not_given() -> None:
    current = InstanceConfig(versioning=True, user_tags={"a": "1"}, kms_key_arn=None)
    updated = instance_config_for_update(current, PRIVATE, PRIVATE, {"delete_objects_with_service": True})
    assert updated == InstanceConfig(versioning=True, user_tags={"a": "1"}, delete_objects=True)


def test_plan_change_switches_public_access_both_ways() -> None:
    private = InstanceConfig()
    made_public = instance_config_for_update(private, PRIVATE, PUBLIC, None)
    assert made_public.public is True
    assert instance_config_for_update(made_public, PUBLIC, PRIVATE, None).public is False
    kept_public = instance_config_for_update(made_public, PUBLIC, PRIVATE, {"public_bucket": True})
    assert kept_public.public is True


def test_binding_defaults_and_unknown_values() -> None:
    config = binding_config(PRIVATE, None)
    assert (config.permissions, config.allow_external_access, config.path_prefix) == ("read-write", False, None)
    with pytest.raises(InvalidParameters, match="'permission'"):
        binding_config(PRIVATE, {"permission": "read-only"})
    with pytest.raises(InvalidParameters, match='one of "read-write", "read-only", "write-only", not "admin"'):
        binding_config(PRIVATE, {"permissions": "admin"})


GUID = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
KEY = "arn:aws:kms:eu-west-2:111122223333:key/abcd-1234"
CORS = [{"AllowedOrigins": ["https://example.org"], "AllowedMethods": ["GET"]}]


def refusal(plan_or_schema: object, parameters: object, *, binding: bool = False) -> str:
    """The description a refused request gets back (what the user reads in the cf CLI)."""
    with pytest.raises(InvalidParameters) as caught:
        if isinstance(plan_or_schema, dict):
            validate(plan_or_schema, parameters)
        elif binding:
            binding_config(plan_or_schema, parameters)
        else:
            instance_config_for_create(plan_or_schema, parameters)
    return str(caught.value)


def test_every_instance_parameter_reaches_the_config() -> None:
    given = {
        "public_bucket": True,
        "versioning": True,
        "cors_rules": CORS,
        "kms_key_arn": KEY,
        "tags": {"team": "a"},
        "delete_objects_with_service": True,
    }
    config = instance_config_for_create(PRIVATE, given)
    assert config == InstanceConfig(
        public=True, versioning=True, cors_rules=CORS, kms_key_arn=KEY, user_tags={"team": "a"}, delete_objects=True
    )
    # What `cf service --params` shows is what would make the same bucket again (with the defaults shown).
    defaults = {"require_tls": True, "object_ownership": "BucketOwnerEnforced"}
    assert config.as_parameters() == {**given, **defaults}
    assert instance_config_for_create(PRIVATE, config.as_parameters()) == config
    assert InstanceConfig().as_parameters() == {
        "public_bucket": False,
        "versioning": False,
        "delete_objects_with_service": False,
        **defaults,
    }


def test_update_replaces_what_is_given_and_keeps_the_rest() -> None:
    current = InstanceConfig(
        versioning=True, cors_rules=CORS, kms_key_arn=KEY, user_tags={"a": "1"}, delete_objects=True
    )
    assert instance_config_for_update(current, PRIVATE, PRIVATE, {}) == current
    other_key = KEY.replace("abcd", "ef01")
    given = {
        "versioning": False,
        "cors_rules": [],
        "kms_key_arn": other_key,
        "tags": {"b": "2"},
        "delete_objects_with_service": False,
    }
    assert instance_config_for_update(current, PRIVATE, PRIVATE, given) == InstanceConfig(
        kms_key_arn=other_key, user_tags={"b": "2"}
    )


def test_every_binding_parameter_reaches_the_config() -> None:
    config = binding_config(
        PRIVATE,
        {
            "permissions": "read-only",
            "allow_external_access": True,
            "path_prefix": "img/",
            "additional_instances": [GUID],
            "external_buckets": ["legacy-bucket"],
        },
    )
    assert config == BindingConfig(
        permissions="read-only",
        allow_external_access=True,
        path_prefix="img/",
        additional_instances=(GUID,),
        external_buckets=("legacy-bucket",),
    )
    assert config.read_only


def test_unknown_parameters_are_named_apart_from_known_ones() -> None:
    assert refusal(PRIVATE, {"versioning": True, "zz": 1, "aa": 2}).startswith("unknown parameter 'aa', 'zz'. ")
    # An operator's schema without properties still gets a readable answer.
    assert refusal({"type": "object", "additionalProperties": False}, {"a": 1}) == (
        "unknown parameter 'a'. Allowed parameters: ."
    )


def test_tag_refusals_say_the_tag_rule() -> None:
    rule = (
        "(tag keys are 1-128 and values 0-256 characters of letters, digits, spaces and _ . : / = + - @; "
        "keys may not start with aws: or s3-broker:)"
    )
    assert (
        refusal(PRIVATE, {"tags": {"aws:x": "v"}})
        == f"parameter 'tags' has a key that is not allowed: \"aws:x\" {rule}"
    )
    long_key = {"ok": "v", "x" * 200 + "!": "v"}
    assert f'not allowed: "{"x" * 40}..." (tag keys' in refusal(PRIVATE, {"tags": long_key})
    assert 'not allowed: "a\\nb"' in refusal(PRIVATE, {"tags": {"a\nb": "v"}})
    assert refusal(PRIVATE, {"tags": {"k": "\u00e9"}}) == f"parameter 'tags.k' has a value that is not allowed {rule}"
    assert refusal(PRIVATE, {"tags": "x"}) == "parameter 'tags' must be a JSON object, not \"x\""
    assert refusal(PRIVATE, {"tags": {"k": 5}}) == "parameter 'tags.k' must be a string, not 5"


def test_pattern_refusals_name_the_value_and_the_form_wanted() -> None:
    assert refusal(PRIVATE, {"path_prefix": "/x"}, binding=True) == (
        "parameter 'path_prefix' has the wrong form: \"/x\" (a prefix of object names such as images/: "
        "no leading '/', no '..', no * or ?, only letters, digits and ! _ . ' ( ) - /)"
    )
    assert refusal(PRIVATE, {"additional_instances": ["x"]}, binding=True) == (
        "parameter 'additional_instances.0' has the wrong form: \"x\" (give an instance GUID, which "
        "`cf service NAME --guid` prints)"
    )
    assert refusal(PRIVATE, {"external_buckets": ["A"]}, binding=True) == (
        "parameter 'external_buckets.0' has the wrong form: \"A\" (an S3 bucket name: 3-63 characters of a-z, "
        "0-9, '.' and '-')"
    )
    assert refusal(PRIVATE, {"kms_key_arn": "alias/mine"}) == (
        "parameter 'kms_key_arn' has the wrong form: \"alias/mine\" (a KMS key ARN: "
        "arn:aws:kms:REGION:ACCOUNT:key/ID; aliases are not accepted)"
    )
    # A pattern an operator adds to the catalog gets no hint, and no stray text either.
    schema = {"type": "object", "properties": {"x": {"type": "string", "pattern": "^a$"}}}
    assert refusal(schema, {"x": "b"}) == "parameter 'x' has the wrong form: \"b\""


def test_other_refusals_fall_back_to_the_validator_message() -> None:
    cors_rule = {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}
    assert refusal(PRIVATE, {"cors_rules": [{**cors_rule, "X": 1}]}) == (
        "parameter 'cors_rules.0': Additional properties are not allowed ('X' was unexpected)"
    )
    assert refusal(PRIVATE, {"cors_rules": [{**cors_rule, "MaxAgeSeconds": "x"}]}) == (
        "parameter 'cors_rules.0.MaxAgeSeconds' must be a whole number, not \"x\""
    )
    schema = {"type": "object", "required": ["x"], "properties": {"x": {"type": "string"}}}
    assert refusal(schema, {}) == "'x' is a required property"
    assert refusal(PRIVATE, ["versioning"]) == "parameters must be a JSON object"


def test_at_most_five_problems_are_listed_shortest_path_first() -> None:
    everything_wrong = {
        "versioning": "x",
        "public_bucket": "x",
        "delete_objects_with_service": "x",
        "tags": "x",
        "cors_rules": "x",
        "kms_key_arn": 5,
    }
    assert refusal(PRIVATE, everything_wrong) == (
        "parameter 'cors_rules' must be a list, not \"x\"; "
        "parameter 'delete_objects_with_service' must be true or false, not \"x\"; "
        "parameter 'kms_key_arn' must be a string, not 5; "
        "parameter 'public_bucket' must be true or false, not \"x\"; "
        "parameter 'tags' must be a JSON object, not \"x\""
    )


@pytest.mark.parametrize(
    ("pattern", "python"),
    [
        ("^[a-z/]+$", "^[a-z/]+\\Z"),
        ("^(a$|b$)", "^(a\\Z|b\\Z)"),
        ("^a\\$b$", "^a\\$b\\Z"),  # an escaped $ is a literal dollar sign
        ("^[$]x$", "^[$]x\\Z"),  # so is a $ in a character class
        ("^[\\]$]$", "^[\\]$]\\Z"),  # an escaped ] does not end the class
        ("^\\\\$", "^\\\\\\Z"),  # an escaped backslash does not escape the $
        ("^a", "^a"),
    ],
)
def test_ecma_dollar_matches_only_at_the_very_end(pattern: str, python: str) -> None:
    assert ecma_regex(pattern) == python


def test_schemas_are_translated_wherever_a_pattern_can_be() -> None:
    schema = {
        "description": "costs $5",
        "enum": ["a$"],
        # Names of properties and definitions are names, never keywords, whatever they are called.
        "properties": {"pattern": {"type": "string"}, "p": {"pattern": "^p$"}, "patternProperties": {"$ref": "#"}},
        "definitions": {"d": {"pattern": "^d$"}, "patternProperties": {"$ref": "#"}},
        "patternProperties": {"^k$": {"pattern": "^v$"}},
        "items": {"pattern": "^i$"},
        "anyOf": [{"pattern": "^l$"}, "x$"],
    }
    assert python_schema(schema) == {
        "description": "costs $5",
        "enum": ["a$"],
        "properties": {"pattern": {"type": "string"}, "p": {"pattern": "^p\\Z"}, "patternProperties": {"$ref": "#"}},
        "definitions": {"d": {"pattern": "^d\\Z"}, "patternProperties": {"$ref": "#"}},
        "patternProperties": {"^k\\Z": {"pattern": "^v\\Z"}},
        "items": {"pattern": "^i\\Z"},
        "anyOf": [{"pattern": "^l\\Z"}, "x$"],
    }


def test_a_trailing_newline_does_not_pass_a_pattern() -> None:
    # Python's $ would accept "img/\n": a key whose policy names a prefix with a newline in it.
    assert "has the wrong form" in refusal(PRIVATE, {"path_prefix": "img/\n"}, binding=True)
    assert "has the wrong form" in refusal(PRIVATE, {"external_buckets": ["legacy\n"]}, binding=True)
    assert "has a key that is not allowed" in refusal(PRIVATE, {"tags": {"k\n": "v"}})


def test_a_schema_is_compiled_once_and_never_mistaken_for_another() -> None:
    schema = PRIVATE.binding_create_schema
    assert parameters._validator(schema) is parameters._validator(schema)
    twin = copy.deepcopy(schema)
    assert parameters._validator(twin) is not parameters._validator(schema)
    # A cache entry left by a schema that is gone (its id now reused) is not taken for this one.
    stale = parameters._validator(twin)
    parameters._VALIDATORS[id(schema)] = (twin, stale)
    assert parameters._validator(schema) is not stale


def test_only_allowed_kms_keys_pass() -> None:
    check_kms_key_allowed(None, ())
    check_kms_key_allowed(KEY, (KEY,))
    with pytest.raises(InvalidParameters) as caught:
        check_kms_key_allowed(KEY, ())
    assert str(caught.value) == (
        "parameter 'kms_key_arn': this platform allows no customer KMS keys; leave it out for SSE-S3 encryption, "
        "or ask your platform operator to allow your key"
    )
    other = KEY.replace("abcd", "ef01")
    with pytest.raises(InvalidParameters) as caught:
        check_kms_key_allowed(KEY, (other, other + "2"))
    assert str(caught.value) == (
        f"parameter 'kms_key_arn': {KEY} is not a key this platform allows. Allowed keys: {other}, {other}2"
    )


def test_fingerprint_is_canonical_json_whatever_the_order() -> None:
    # Fingerprints outlive a broker version (they tell a repeated request from a new one), so the
    # canonical form is pinned: sorted keys, no spaces, tuples as lists.
    value = {"b": ("x", 1), "a": {"d": None, "c": True}}
    canonical = '{"a":{"c":true,"d":null},"b":["x",1]}'
    assert fingerprint(value) == hashlib.sha256(canonical.encode()).hexdigest()[:32]
    assert fingerprint({"a": {"c": True, "d": None}, "b": ["x", 1]}) == fingerprint(value)
    assert fingerprint({"s": {"only"}}) == fingerprint({"s": ["only"]})


def test_expiry_reaches_the_binding_config() -> None:
    assert binding_config(PRIVATE, {"expires_in_days": 30}).expires_in_days == 30
    assert binding_config(PRIVATE, {}).expires_in_days is None


XML_RULE = (
    "which S3 cannot take (no control characters but tab and line breaks, no lone surrogates, no U+FFFE or U+FFFF)"
)


def test_characters_s3_cannot_take_are_refused_naming_where_they_are() -> None:
    cors_rule = {"AllowedOrigins": ["https://a.example", "https://b\x0b.example"], "AllowedMethods": ["GET"]}
    # Checked before the schema: the CORS fields are free text no pattern guards.
    assert refusal(PRIVATE, {"cors_rules": [cors_rule]}) == (
        f"parameter 'cors_rules.0.AllowedOrigins.1' holds the character U+000B, {XML_RULE}"
    )
    assert (
        refusal(PRIVATE, {"tags": {"team": "a\x00"}}) == f"parameter 'tags.team' holds the character U+0000, {XML_RULE}"
    )
    # A key is named by its own path (its character is the one refused).
    assert (
        refusal(PRIVATE, {"tags": {"t\x01": "a"}}) == f"parameter 'tags.t\x01' holds the character U+0001, {XML_RULE}"
    )
    assert (
        refusal(PRIVATE, {"kms_key_arn": "\ufffe"}) == f"parameter 'kms_key_arn' holds the character U+FFFE, {XML_RULE}"
    )
    assert refusal(PRIVATE, {"versioning": True, "x": "\ud800"}).startswith("parameter 'x' holds the character U+D800")
    # Tab, line breaks and characters beyond the BMP are XML's own.
    parameters.check_characters({"cors_rules": [{"AllowedHeaders": ["a\tb\r\n", "\U0001f600", "\ud7ff\ue000\ufffd"]}]})


def test_characters_of_a_list_or_string_on_its_own_are_named_by_index_or_not_at_all() -> None:
    with pytest.raises(InvalidParameters) as caught:
        parameters.check_characters(["ok", "b\x01"])
    assert str(caught.value) == f"parameter '1' holds the character U+0001, {XML_RULE}"
    with pytest.raises(InvalidParameters) as caught:
        parameters.check_characters("\x02")
    assert str(caught.value) == f"parameter '' holds the character U+0002, {XML_RULE}"


def test_a_refused_tag_key_is_shown_whole_up_to_forty_characters() -> None:
    forty = "aws:" + "x" * 36
    assert f'not allowed: "{forty}" (tag keys' in refusal(PRIVATE, {"tags": {forty: "v"}})
    assert f'not allowed: "{forty}..." (tag keys' in refusal(PRIVATE, {"tags": {forty + "y": "v"}})


def test_an_operators_tag_schema_names_the_key_it_does_not_allow() -> None:
    # Keys the schema names as properties are allowed: the refusal names the other one.
    named = {"type": "object", "properties": {"tags": {"type": "object", "additionalProperties": False}}}
    named["properties"]["tags"]["properties"] = {"a-team": {"type": "string"}}
    assert refusal(named, {"tags": {"a-team": "x", "b-team": "y"}}).startswith(
        "parameter 'tags' has a key that is not allowed: \"b-team\" ("
    )
    no_properties = {"type": "object", "properties": {"tags": {"type": "object", "additionalProperties": False}}}
    assert refusal(no_properties, {"tags": {"z": "x", "y": "y"}}).startswith(
        "parameter 'tags' has a key that is not allowed: \"y\" ("
    )


def test_a_type_the_refusal_has_no_words_for_is_named_as_the_schema_says() -> None:
    schema = {"type": "object", "properties": {"size": {"type": "number"}}}
    assert refusal(schema, {"size": "big"}) == "parameter 'size' must be number, not \"big\""


WEBSITE = {"index_document": "index.html"}


def test_public_only_options_reach_a_public_buckets_config() -> None:
    referers = ["https://www.example.org/*"]
    given = {"public_read_referers": referers, "website": WEBSITE, "require_tls": False}
    created = instance_config_for_create(PUBLIC, given)
    assert created.options.as_parameters() == {**given, "object_ownership": "BucketOwnerEnforced"}
    updated = instance_config_for_update(InstanceConfig(public=True), PUBLIC, PUBLIC, given)
    assert updated.options == created.options
    assert refusal(PRIVATE, {"website": WEBSITE}).startswith("parameter 'website' applies only to public buckets")
