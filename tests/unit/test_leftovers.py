"""What reconcile decides from what it listed: the pure part of `python -m broker reconcile`."""

from __future__ import annotations

from broker.model.leftovers import (
    BOUNDARY_DIFFERS,
    BUCKET_GONE,
    HALF_MADE,
    QUARANTINED,
    UNMARKED,
    UserFacts,
    decide,
    instance_of,
)

BOUNDARY = "arn:aws:iam::123456789012:policy/s3-broker-binding-boundary"
NOW = 1_800_000_000.0
DAY = 24 * 3600


def bucket_of(instance_id: str) -> str:
    return f"cf-s3-{instance_id}"


def user(name: str, instance_id: str | None, boundary: str | None = BOUNDARY, *attached: str) -> UserFacts:
    return UserFacts(name, instance_id, boundary, attached)


def marked(started: float) -> list[dict[str, str]]:
    return [{"Key": "s3-broker:provisioning", "Value": f"abc {int(started)}"}]


RECORDED = [{"Key": "s3-broker:instance-id", "Value": "i1"}, {"Key": "s3-broker:plan-id", "Value": "p"}]


def kinds(found: list) -> set[tuple[str, str, bool]]:
    return {(f.kind, f.subject, f.removable) for f in found}


def test_a_healthy_platform_needs_no_one() -> None:
    assert decide([user("u1", "i1")], {"cf-s3-i1": RECORDED}, bucket_of, BOUNDARY, NOW) == []


def test_each_kind_is_found_and_only_leftovers_are_removable() -> None:
    users = [
        user("gone", "i-gone"),
        user("leaked", "i-gone", BOUNDARY, "AWSCompromisedKeyQuarantineV3"),
        user("odd", "i1", "arn:aws:iam::123456789012:policy/other"),
        user("bare", "i1", None),
        user("unknown", None),
    ]
    buckets = {
        "cf-s3-i1": RECORDED,
        "cf-s3-old": marked(NOW - 2 * DAY),
        "cf-s3-new": marked(NOW - 60),
        "cf-s3-bare": [{"Key": "team", "Value": "ops"}],
    }
    assert kinds(decide(users, buckets, bucket_of, BOUNDARY, NOW)) == {
        (BUCKET_GONE, "gone", True),
        (QUARANTINED, "leaked", False),
        (BUCKET_GONE, "leaked", False),  # never removed while quarantined
        (BOUNDARY_DIFFERS, "odd", False),
        (BOUNDARY_DIFFERS, "bare", False),
        (HALF_MADE, "cf-s3-old", True),
        (UNMARKED, "cf-s3-bare", False),  # someone else's, or a provision that stopped before its first tag
    }


def test_no_configured_boundary_means_no_boundary_finding() -> None:
    assert decide([user("bare", "i1", None)], {"cf-s3-i1": RECORDED}, bucket_of, None, NOW) == []


def test_a_bucket_being_deleted_or_fully_recorded_is_not_half_made() -> None:
    deleting = [*marked(0), {"Key": "s3-broker:deleting", "Value": "1"}]
    recorded = [*marked(0), {"Key": "s3-broker:instance-id", "Value": "i"}, {"Key": "s3-broker:plan-id", "Value": "p"}]
    assert decide([], {"cf-s3-a": deleting, "cf-s3-b": recorded}, bucket_of, BOUNDARY, NOW) == []


def test_the_instance_of_a_user_comes_from_its_tag_else_its_path() -> None:
    tag = "s3-broker:instance-id"
    assert instance_of("/cf-s3-broker/i1/", "/cf-s3-broker/", {}, tag) == "i1"
    assert instance_of("/cf-s3-broker/", "/cf-s3-broker/", {tag: "i2"}, tag) == "i2"
    assert instance_of("/cf-s3-broker/", "/cf-s3-broker/", {}, tag) is None
