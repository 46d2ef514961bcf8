"""What the broker knows about an instance, kept as bucket tags (the broker has no database)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from broker.model.bucket_options import BucketOptions, parse_tag, tag_value
from broker.model.names import NO_NAMES, Names, name_tags, names_from_tags
from broker.model.parameters import InstanceConfig, fingerprint

TAG_PREFIX = "s3-broker:"
INSTANCE_ID = TAG_PREFIX + "instance-id"
SERVICE_ID = TAG_PREFIX + "service-id"
PLAN_ID = TAG_PREFIX + "plan-id"
ORG_GUID = TAG_PREFIX + "org-guid"
SPACE_GUID = TAG_PREFIX + "space-guid"
# Releases before names were recorded kept these three flags as tags of their own; now they are in OPTIONS
# (to make room for the names), and reading accepts both.
PUBLIC = TAG_PREFIX + "public"
VERSIONING = TAG_PREFIX + "versioning"
DELETE_OBJECTS = TAG_PREFIX + "delete-objects"
KMS_KEY_ARN = TAG_PREFIX + "kms-key-arn"
CORS_DIGEST = TAG_PREFIX + "cors-digest"
# TLS only, object ownership, and which configurations hold the rest (see bucket_options), then the
# flags: "... public=off versioning=on delete-objects=off".
OPTIONS = TAG_PREFIX + "options"
# The flags within OPTIONS: their field there, and the tag an earlier release kept each in.
FLAG_FIELDS = {"public": PUBLIC, "versioning": VERSIONING, "delete-objects": DELETE_OBJECTS}
# The release that made the bucket or last upgraded it (absent on buckets of releases before versions).
VERSION = TAG_PREFIX + "version"
# Set by an asynchronous deprovision: S3 is emptying the bucket and the broker deletes it once empty.
DELETING = TAG_PREFIX + "deleting"
# At most this many tags on a bucket (S3's limit).
MAX_TAGS = 50

# Written right after CreateBucket and replaced by the full record: "DIGEST STARTED" (epoch seconds).
PROVISIONING = TAG_PREFIX + "provisioning"

BINDING_ID = TAG_PREFIX + "binding-id"
BINDING_DIGEST = TAG_PREFIX + "binding-digest"


@dataclass(frozen=True)
class InstanceRecord:
    instance_id: str
    service_id: str
    plan_id: str
    org_guid: str
    space_guid: str
    config: InstanceConfig
    # The broker release that made or last upgraded the instance; None: one from before versions.
    # Not part of identity(): a repeated provision matches an instance whatever release made it.
    version: str | None = None
    # The org, space and instance names, for cost allocation; not part of identity() (renames happen).
    names: Names = NO_NAMES

    def identity(self) -> dict[str, Any]:
        """Everything a repeated provision must match, CORS rules reduced to their digest."""
        return {
            "service_id": self.service_id,
            "plan_id": self.plan_id,
            "org_guid": self.org_guid,
            "space_guid": self.space_guid,
            "public": self.config.public,
            "versioning": self.config.versioning,
            "delete_objects": self.config.delete_objects,
            "kms_key_arn": self.config.kms_key_arn,
            "user_tags": self.config.user_tags,
            "cors_digest": cors_digest(self.config.cors_rules),
            "options": options_tag(self.config.options),
        }


def cors_digest(rules: list[dict[str, Any]]) -> str | None:
    return fingerprint(rules) if rules else None


def options_tag(options: BucketOptions) -> str:
    bulky = {
        "referers": options.public_read_referers,
        "lifecycle": options.lifecycle.as_parameter(),
        "website": options.website.as_parameter() if options.website else None,
    }
    return tag_value(options, fingerprint(bulky))


def _flag(value: bool) -> str:
    return "on" if value else "off"


def flags_text(config: InstanceConfig) -> str:
    flags = {"public": config.public, "versioning": config.versioning, "delete-objects": config.delete_objects}
    return " ".join(f"{name}={_flag(value)}" for name, value in flags.items())


def split_options_tag(value: str | None, tags: dict[str, str]) -> tuple[str | None, dict[str, bool]]:
    """The options part of the OPTIONS tag, and the flags: from it, or from their own tags (earlier releases)."""
    parts = (value or "").split()
    inline = dict(part.partition("=")[::2] for part in parts if part.partition("=")[0] in FLAG_FIELDS)
    options = " ".join(part for part in parts if part.partition("=")[0] not in FLAG_FIELDS)
    flags = {
        name: inline[name] == "on" if name in inline else tags.get(own_tag) == "true"
        for name, own_tag in FLAG_FIELDS.items()
    }
    return (options if value is not None else None), flags


def instance_tags(record: InstanceRecord) -> list[dict[str, str]]:
    """The bucket's whole tag set: the broker's own tags, then the user's."""
    config = record.config
    tags = {
        INSTANCE_ID: record.instance_id,
        SERVICE_ID: record.service_id,
        PLAN_ID: record.plan_id,
        ORG_GUID: record.org_guid,
        SPACE_GUID: record.space_guid,
    }
    if config.kms_key_arn:
        tags[KMS_KEY_ARN] = config.kms_key_arn
    digest = cors_digest(config.cors_rules)
    if digest:
        tags[CORS_DIGEST] = digest
    tags[OPTIONS] = f"{options_tag(config.options)} {flags_text(config)}"
    if record.version:
        tags[VERSION] = record.version
    tags.update(name_tags(record.names))
    tags.update(config.user_tags)
    return [{"Key": key, "Value": value} for key, value in tags.items()]


@dataclass(frozen=True)
class StoredInstance:
    """An instance as read back from its tags; CORS rules are known only by digest until fetched, and
    the options named in `options_read` (referers, lifecycle rules, website) only once read back."""

    record: InstanceRecord
    cors_digest: str | None
    options_tag: str = ""
    options_read: tuple[str, ...] = ()

    def identity(self) -> dict[str, Any]:
        return {**self.record.identity(), "cors_digest": self.cors_digest, "options": self.options_tag}


def instance_from_tags(tag_set: list[dict[str, str]]) -> StoredInstance | None:
    """Read an instance back from a bucket's tags; None when the bucket is not (yet) the broker's."""
    tags = {tag["Key"]: tag.get("Value", "") for tag in tag_set}
    if INSTANCE_ID not in tags or PLAN_ID not in tags or DELETING in tags:
        return None
    options_value, flags = split_options_tag(tags.get(OPTIONS), tags)
    options = parse_tag(options_value)
    config = InstanceConfig(
        public=flags["public"],
        versioning=flags["versioning"],
        kms_key_arn=tags.get(KMS_KEY_ARN),
        user_tags={key: value for key, value in tags.items() if not key.startswith(TAG_PREFIX)},
        delete_objects=flags["delete-objects"],
        options=options.options,
    )
    record = InstanceRecord(
        instance_id=tags[INSTANCE_ID],
        service_id=tags.get(SERVICE_ID, ""),
        plan_id=tags[PLAN_ID],
        org_guid=tags.get(ORG_GUID, ""),
        space_guid=tags.get(SPACE_GUID, ""),
        config=config,
        version=tags.get(VERSION),
        names=names_from_tags(tags),
    )
    return StoredInstance(
        record=record, cors_digest=tags.get(CORS_DIGEST), options_tag=options.value, options_read=options.read
    )


def deleting_since(tag_set: list[dict[str, str]] | None) -> float | None:
    """When an asynchronous deprovision began emptying the bucket; None when none did."""
    for tag in tag_set or []:
        if tag["Key"] == DELETING:
            return float(tag["Value"]) if tag["Value"].isdigit() else 0.0
    return None


def deleting_tags(tag_set: list[dict[str, str]], started: float) -> list[dict[str, str]]:
    """The tags with the deleting mark added; users' tags make room for it if the set is full."""
    kept = [tag for tag in tag_set if tag["Key"] != DELETING]
    while len(kept) >= MAX_TAGS:
        users = [i for i, tag in enumerate(kept) if not tag["Key"].startswith(TAG_PREFIX)]
        if not users:
            break
        del kept[users[-1]]
    return [*kept, {"Key": DELETING, "Value": str(int(started))}]


@dataclass(frozen=True)
class ProvisioningMarker:
    """A provision in progress (or one that died): what it was asked for, and when it began."""

    digest: str
    started: float


def carries_broker_mark(tag_set: list[dict[str, str]] | None) -> bool:
    """Whether a bucket carries any of the broker's tags: one without is not the broker's to touch."""
    return any(tag["Key"].startswith(TAG_PREFIX) for tag in tag_set or [])


def provisioning_tags(digest: str, started: float) -> list[dict[str, str]]:
    return [{"Key": PROVISIONING, "Value": f"{digest} {int(started)}"}]


def provisioning_marker(tag_set: list[dict[str, str]] | None) -> ProvisioningMarker | None:
    for tag in tag_set or []:
        if tag["Key"] == PROVISIONING:
            digest, _, started = tag["Value"].partition(" ")
            return ProvisioningMarker(digest, float(started) if started.isdigit() else 0.0)
    return None
