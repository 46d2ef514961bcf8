"""The bucket settings beyond the first ones: TLS only, referer-limited public reads, lifecycle rules,
a static website and object ownership. Pure functions: parameters in, S3 request bodies and one
tag value out, and back again from what S3 returns.

The broker's tags are limited (S3 allows 50 a bucket, users get 38), so these settings take one tag,
`s3-broker:options`: the short ones in clear, the bulky ones (referer patterns, lifecycle rules,
website documents) only as the names of the S3 configurations to read them back from, plus a
digest that tells a repeated provision from a different one without reading anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from broker.errors import InvalidParameters
from broker.settings import dns_suffix, partition_of

OWNER_ENFORCED = "BucketOwnerEnforced"
OWNERSHIPS = (OWNER_ENFORCED, "BucketOwnerPreferred", "ObjectWriter")

# Lifecycle rule ids the broker owns; any other rule on a broker bucket is replaced.
EXPIRE_RULE = "s3-broker-expire-objects"
NONCURRENT_RULE = "s3-broker-expire-noncurrent-versions"
MULTIPART_RULE = "s3-broker-abort-multipart-uploads"
EMPTY_RULE = "s3-broker-empty-bucket"
EMPTY_MARKERS_RULE = "s3-broker-empty-bucket-delete-markers"

# Regions whose website endpoint is `s3-website-REGION` (the older form); all others use `s3-website.REGION`.
DASH_WEBSITE_REGIONS = frozenset(
    {
        "us-east-1",
        "us-west-1",
        "us-west-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-northeast-1",
        "eu-west-1",
        "sa-east-1",
        "us-gov-west-1",
    }
)


@dataclass(frozen=True)
class Lifecycle:
    expire_after_days: int | None = None
    expire_prefix: str = ""
    noncurrent_versions_expire_after_days: int | None = None
    abort_incomplete_multipart_uploads_after_days: int | None = None

    def as_parameter(self) -> dict[str, Any]:
        given: dict[str, Any] = {
            "expire_after_days": self.expire_after_days,
            "expire_prefix": self.expire_prefix or None,
            "noncurrent_versions_expire_after_days": self.noncurrent_versions_expire_after_days,
            "abort_incomplete_multipart_uploads_after_days": self.abort_incomplete_multipart_uploads_after_days,
        }
        return {key: value for key, value in given.items() if value is not None}

    @property
    def empty(self) -> bool:
        return not self.as_parameter()


@dataclass(frozen=True)
class Website:
    index_document: str
    error_document: str | None = None

    def as_parameter(self) -> dict[str, str]:
        shown = {"index_document": self.index_document}
        if self.error_document:
            shown["error_document"] = self.error_document
        return shown


@dataclass(frozen=True)
class BucketOptions:
    """Defaults are what a new bucket gets when the request says nothing."""

    require_tls: bool = True
    public_read_referers: tuple[str, ...] = ()
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    website: Website | None = None
    object_ownership: str = OWNER_ENFORCED

    def as_parameters(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"require_tls": self.require_tls, "object_ownership": self.object_ownership}
        if self.public_read_referers:
            shown["public_read_referers"] = list(self.public_read_referers)
        if not self.lifecycle.empty:
            shown["lifecycle"] = self.lifecycle.as_parameter()
        if self.website:
            shown["website"] = self.website.as_parameter()
        return shown

    def bulky(self) -> tuple[str, ...]:
        """The S3 configurations these options must be read back from (not held in the tag)."""
        parts = []
        if self.public_read_referers:
            parts.append("policy")
        if not self.lifecycle.empty:
            parts.append("lifecycle")
        if self.website:
            parts.append("website")
        return tuple(parts)


# Written only by buckets provisioned before these options existed: no TLS statement, ACLs disabled.
LEGACY = BucketOptions(require_tls=False)


def _lifecycle(given: dict[str, Any]) -> Lifecycle:
    if "expire_prefix" in given and "expire_after_days" not in given:
        raise InvalidParameters("parameter 'lifecycle.expire_prefix' needs 'lifecycle.expire_after_days'")
    return Lifecycle(
        expire_after_days=given.get("expire_after_days"),
        expire_prefix=given.get("expire_prefix", ""),
        noncurrent_versions_expire_after_days=given.get("noncurrent_versions_expire_after_days"),
        abort_incomplete_multipart_uploads_after_days=given.get("abort_incomplete_multipart_uploads_after_days"),
    )


def _website(given: dict[str, Any]) -> Website | None:
    if not given:
        return None  # {} turns the website off
    if "index_document" not in given:
        raise InvalidParameters("parameter 'website' needs 'index_document' (or {} to turn the website off)")
    return Website(given["index_document"], given.get("error_document"))


def options_from(given: dict[str, Any], current: BucketOptions) -> BucketOptions:
    """Validated parameters merged over `current` (the defaults for a new bucket)."""
    return BucketOptions(
        require_tls=given.get("require_tls", current.require_tls),
        public_read_referers=tuple(given["public_read_referers"])
        if "public_read_referers" in given
        else current.public_read_referers,
        lifecycle=_lifecycle(given["lifecycle"]) if "lifecycle" in given else current.lifecycle,
        website=_website(given["website"]) if "website" in given else current.website,
        object_ownership=given.get("object_ownership", current.object_ownership),
    )


def check_public_only(options: BucketOptions, public: bool) -> None:
    """Referers and websites are about public reads: on a private bucket they would do nothing."""
    if public:
        return
    wrong = [name for name, value in (("public_read_referers", options.public_read_referers),) if value]
    if options.website:
        wrong.append("website")
    if wrong:
        raise InvalidParameters(
            f"parameter {' and '.join(repr(name) for name in wrong)} applies only to public buckets, whose objects "
            "anyone may read: this bucket is private. Use the basic-public plan or public_bucket: true, or leave it "
            "out (to make a public bucket private, also give public_read_referers: [] and website: {})."
        )


# --- the tag -------------------------------------------------------------------------------------


def tag_value(options: BucketOptions, digest: str) -> str:
    """`tls=on ownership=BucketOwnerEnforced[ read=policy+lifecycle+website digest=HEX]`: tag characters only."""
    value = f"tls={'on' if options.require_tls else 'off'} ownership={options.object_ownership}"
    if options.bulky():
        value += f" read={'+'.join(options.bulky())} digest={digest}"
    return value


@dataclass(frozen=True)
class OptionsTag:
    """What the tag says: the short options, and which configurations hold the rest."""

    options: BucketOptions
    read: tuple[str, ...]
    value: str


def parse_tag(value: str | None) -> OptionsTag:
    if value is None:
        return OptionsTag(LEGACY, (), "")
    fields = dict(part.partition("=")[::2] for part in value.split())
    ownership = fields.get("ownership", OWNER_ENFORCED)
    options = BucketOptions(
        require_tls=fields.get("tls") == "on",
        object_ownership=ownership if ownership in OWNERSHIPS else OWNER_ENFORCED,
    )
    read = tuple(part for part in fields.get("read", "").split("+") if part)
    return OptionsTag(options, read, value)


# --- S3 request bodies and what S3 returns ---------------------------------------------------------


def lifecycle_rules(lifecycle: Lifecycle) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    if lifecycle.expire_after_days:
        rules.append(
            {
                "ID": EXPIRE_RULE,
                "Status": "Enabled",
                "Filter": {"Prefix": lifecycle.expire_prefix},
                "Expiration": {"Days": lifecycle.expire_after_days},
            }
        )
    if lifecycle.noncurrent_versions_expire_after_days:
        rules.append(
            {
                "ID": NONCURRENT_RULE,
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "NoncurrentVersionExpiration": {"NoncurrentDays": lifecycle.noncurrent_versions_expire_after_days},
            }
        )
    if lifecycle.abort_incomplete_multipart_uploads_after_days:
        days = lifecycle.abort_incomplete_multipart_uploads_after_days
        rules.append(
            {
                "ID": MULTIPART_RULE,
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": days},
            }
        )
    return rules


def lifecycle_from_rules(rules: list[dict[str, Any]]) -> Lifecycle:
    """The broker's own rules read back; rules of other ids are not the broker's and are ignored."""
    by_id = {rule.get("ID"): rule for rule in rules}
    expire = by_id.get(EXPIRE_RULE, {})
    filter_ = expire.get("Filter", {})
    noncurrent = by_id.get(NONCURRENT_RULE, {}).get("NoncurrentVersionExpiration", {})
    multipart = by_id.get(MULTIPART_RULE, {}).get("AbortIncompleteMultipartUpload", {})
    return Lifecycle(
        expire_after_days=expire.get("Expiration", {}).get("Days"),
        expire_prefix=filter_.get("Prefix", "") if isinstance(filter_, dict) else "",
        noncurrent_versions_expire_after_days=noncurrent.get("NoncurrentDays"),
        abort_incomplete_multipart_uploads_after_days=multipart.get("DaysAfterInitiation"),
    )


def emptying_rules() -> list[dict[str, Any]]:
    """Rules that make S3 itself delete everything: current and noncurrent versions, unfinished
    multipart uploads after a day, and delete markers once they are all that is left (S3 refuses
    ExpiredObjectDeleteMarker beside Days in one rule, hence two)."""
    return [
        {
            "ID": EMPTY_RULE,
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "Expiration": {"Days": 1},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        },
        {
            "ID": EMPTY_MARKERS_RULE,
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "Expiration": {"ExpiredObjectDeleteMarker": True},
        },
    ]


def website_configuration(website: Website) -> dict[str, Any]:
    configuration: dict[str, Any] = {"IndexDocument": {"Suffix": website.index_document}}
    if website.error_document:
        configuration["ErrorDocument"] = {"Key": website.error_document}
    return configuration


def website_from_configuration(configuration: dict[str, Any] | None) -> Website | None:
    if not configuration or "IndexDocument" not in configuration:
        return None
    error = configuration.get("ErrorDocument", {}).get("Key")
    return Website(configuration["IndexDocument"]["Suffix"], error)


def website_endpoint(bucket: str, region: str) -> str:
    """Where S3 serves the bucket as a website (HTTP only: S3 website endpoints have no TLS)."""
    separator = "-" if region in DASH_WEBSITE_REGIONS else "."
    return f"http://{bucket}.s3-website{separator}{region}.{dns_suffix(partition_of(region))}"


def website_url(bucket: str, region: str, custom_endpoint: str | None) -> str | None:
    """The website endpoint to hand out; None off AWS (the local backend serves no websites)."""
    return None if custom_endpoint else website_endpoint(bucket, region)


REFERER_CONDITION = re.compile(r"aws:referer", re.IGNORECASE)


def referers_from_policy(policy: dict[str, Any] | None, sid: str) -> tuple[str, ...]:
    """The referer patterns of the broker's public-read statement, read back from the bucket policy."""
    for statement in (policy or {}).get("Statement", []):
        if statement.get("Sid") != sid:
            continue
        for keys in statement.get("Condition", {}).values():
            for key, values in keys.items():
                if REFERER_CONDITION.fullmatch(key):
                    return tuple(values if isinstance(values, list) else [values])
    return ()
