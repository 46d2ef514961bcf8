"""Parameter validation against the published schemas, and how updates merge over what exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.catalog import load_catalog
from broker.errors import InvalidParameters
from broker.parameters import (
    InstanceConfig,
    binding_config,
    instance_config_for_create,
    instance_config_for_update,
)
from tests.harness import BASIC, BASIC_PUBLIC, REPO

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
