"""Bucket names in S3's global and account-regional namespaces, and the names S3 reserves."""

from __future__ import annotations

import pytest

from broker import bucket_names
from broker.aws_names import reserved_bucket_name

INSTANCE = "8d3c5a1e-6b2f-4c7d-9e0a-1f2b3c4d5e6f"
COMPACT = "ru6fuhtlf5gh3hqkd4vtytk6n4"
REGIONAL = f"cf-s3-{COMPACT}-111122223333-eu-west-2-an"


def test_a_name_holds_the_id_as_given_or_compacted_with_the_account_and_region() -> None:
    assert bucket_names.bucket_name("cf-s3-", INSTANCE, "global", "", "eu-west-2") == f"cf-s3-{INSTANCE}"
    assert bucket_names.bucket_name("cf-s3-", INSTANCE, "account-regional", "111122223333", "eu-west-2") == REGIONAL


def test_an_account_regional_name_needs_the_account_id() -> None:
    with pytest.raises(ValueError) as caught:
        bucket_names.bucket_name("cf-s3-", INSTANCE, "account-regional", "", "eu-west-2")
    assert str(caught.value) == "account-regional bucket names need the broker's account id (asked of STS at start)"


def test_account_regional_names_are_told_by_their_suffix() -> None:
    assert bucket_names.in_account_regional_namespace(REGIONAL)
    assert not bucket_names.in_account_regional_namespace(f"cf-s3-{INSTANCE}")
    assert not bucket_names.in_account_regional_namespace(REGIONAL.upper())
    assert not bucket_names.in_account_regional_namespace("cf-s3-x-11112222333-eu-west-2-an")


def test_the_buckets_of_the_other_namespace_are_the_brokers_named_the_other_way() -> None:
    names = [f"cf-s3-{INSTANCE}", REGIONAL, "cf-s3-not-an-instance", f"other-{INSTANCE}", f"x{REGIONAL}"]
    assert bucket_names.of_the_other_namespace(names, "cf-s3-", "global") == [REGIONAL]
    assert bucket_names.of_the_other_namespace(names, "cf-s3-", "account-regional") == [f"cf-s3-{INSTANCE}"]
    assert bucket_names.of_the_other_namespace([], "cf-s3-", "global") == []


@pytest.mark.parametrize(
    ("name", "reserved"),
    [("xn--cf-s3-a", "xn--"), ("sthree-a", "sthree-"), ("cf-s3-a-s3alias", "-s3alias"), ("cf-s3-a.mrap", ".mrap")],
)
def test_names_s3_reserves_are_told_by_their_start_or_end(name: str, reserved: str) -> None:
    assert reserved_bucket_name(name) == reserved


def test_other_names_are_not_reserved() -> None:
    assert reserved_bucket_name(f"cf-s3-{INSTANCE}") is None
