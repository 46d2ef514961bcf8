"""What `python -m broker reconcile` reports, decided from what was listed (no AWS calls here).

Five things need a person: binding users whose bucket is gone (a deprovision that failed part-way,
or a bucket deleted behind the broker's back), buckets left half-made by a provision that died,
buckets under the broker's prefix that carry none of its marks, users AWS has quarantined because
their key was found in public, and users whose permissions boundary is not the configured one. The
first two are leftovers `--fix` may remove; the others it never touches.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from broker.model.records import carries_broker_mark, deleting_since, instance_from_tags, provisioning_marker

# A provision runs for seconds; a mark this old belongs to one that died.
HALF_MADE_AFTER_SECONDS = 24 * 60 * 60
# The AWS managed policies AWS attaches to a user whose key it found in public (V1 is retired, still seen).
QUARANTINE_POLICIES = frozenset(
    {"AWSCompromisedKeyQuarantine", "AWSCompromisedKeyQuarantineV2", "AWSCompromisedKeyQuarantineV3"}
)

BUCKET_GONE = "bucket-gone"
HALF_MADE = "half-made"
UNMARKED = "unmarked"
QUARANTINED = "quarantined"
BOUNDARY_DIFFERS = "boundary-differs"


@dataclass(frozen=True)
class UserFacts:
    """A binding user as GetUser and ListAttachedUserPolicies describe it."""

    name: str
    instance_id: str | None  # from its instance tag, else from its path; None if neither says
    boundary_arn: str | None
    attached_policies: tuple[str, ...]  # the names of its managed policies


@dataclass(frozen=True)
class Finding:
    kind: str
    subject: str  # the user's or the bucket's name
    instance_id: str | None
    detail: str
    removable: bool  # whether --fix may remove it (a half-made bucket only once found empty)


def instance_of(path: str, root: str, tags: Mapping[str, str], instance_tag: str) -> str | None:
    """The instance a binding user belongs to: its tag, else the part of its path below the root."""
    if tags.get(instance_tag):
        return tags[instance_tag]
    below = path[len(root) :].strip("/") if path.startswith(root) else ""
    return below or None


def user_findings(
    user: UserFacts, bucket_exists: Callable[[str], bool], bucket_of: Callable[[str], str], boundary: str | None
) -> list[Finding]:
    quarantine = sorted(QUARANTINE_POLICIES.intersection(user.attached_policies))
    found: list[Finding] = []
    if quarantine:
        found.append(
            Finding(
                QUARANTINED,
                user.name,
                user.instance_id,
                f"{', '.join(quarantine)} attached: AWS found its key in public. Rotate the key "
                "(cf delete-service-key, then create-service-key; or unbind and bind), find where it leaked, "
                "then detach the policy. --fix never removes this user.",
                removable=False,
            )
        )
    if user.instance_id is None:
        return found
    bucket = bucket_of(user.instance_id)
    if not bucket_exists(bucket):
        fix = "Kept: a person must see to the quarantine first." if quarantine else "--fix removes it."
        found.append(
            Finding(
                BUCKET_GONE,
                user.name,
                user.instance_id,
                f"bucket {bucket} is gone; the user and its keys are left over. {fix}",
                removable=not quarantine,
            )
        )
    elif boundary and user.boundary_arn != boundary:
        found.append(
            Finding(
                BOUNDARY_DIFFERS,
                user.name,
                user.instance_id,
                f"permissions boundary is {user.boundary_arn or 'none'}, not the configured {boundary}. Find out "
                "who changed it; an upgrade of the instance (cf upgrade-service) sets the configured one.",
                removable=False,
            )
        )
    return found


def bucket_finding(bucket: str, tags: list[dict[str, str]], now: float) -> Finding | None:
    """A bucket still carrying only a provisioning mark a day after it was made, or carrying no mark."""
    if not carries_broker_mark(tags):
        # The broker never configures or deletes such a bucket (someone else's, or a provision that
        # stopped between CreateBucket and its first tag), so only a person can say whose it is.
        return Finding(
            UNMARKED,
            bucket,
            None,
            "carries none of the broker's marks: made by someone else under the broker's prefix, or by a "
            "provision that stopped between creating it and tagging it. The broker never touches it; if it is "
            "empty and nobody claims it, delete it by hand. --fix never removes it.",
            removable=False,
        )
    marker = provisioning_marker(tags)
    if marker is None or instance_from_tags(tags) is not None or deleting_since(tags) is not None:
        return None
    age = now - marker.started
    if age < HALF_MADE_AFTER_SECONDS:
        return None  # a provision may still be running, or another will take it over
    when = f"{age / 3600:.0f} hours ago" if marker.started else "at a time its mark does not say"
    return Finding(
        HALF_MADE,
        bucket,
        None,
        f"left half-made by a provision that began {when}. --fix removes it if it is empty.",
        removable=True,
    )


def decide(
    users: Collection[UserFacts],
    buckets: Mapping[str, list[dict[str, str]]],
    bucket_of: Callable[[str], str],
    boundary: str | None,
    now: float,
) -> list[Finding]:
    """Everything that needs a person, users first, in a stable order."""
    found = [
        f
        for user in sorted(users, key=lambda u: u.name)
        for f in user_findings(user, buckets.__contains__, bucket_of, boundary)
    ]
    found += [f for name in sorted(buckets) if (f := bucket_finding(name, buckets[name], now)) is not None]
    return found
