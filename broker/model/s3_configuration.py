"""The S3 request bodies of a bucket's options, and the options read back from what S3 returns: lifecycle
rules, the emptying rules of a background deletion, website configurations and endpoints, referers. Pure."""

from __future__ import annotations

import re
from typing import Any

from broker.model.bucket_options import Lifecycle, Website
from broker.settings import dns_suffix, partition_of

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
