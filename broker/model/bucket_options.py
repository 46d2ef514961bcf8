"""The bucket settings beyond the first ones: TLS only, referer-limited public reads, lifecycle rules,
a static website and object ownership. Pure functions: parameters in, options and one tag value out,
and back again (their S3 request bodies are in s3_configuration.py).

The broker's tags are limited (S3 allows 50 a bucket, users get 38), so these settings take one tag,
`s3-broker:options`: the short ones in clear, the bulky ones (referer patterns, lifecycle rules,
website documents) only as the names of the S3 configurations to read them back from, plus a
digest that tells a repeated provision from a different one without reading anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from broker.errors import InvalidParameters

OWNER_ENFORCED = "BucketOwnerEnforced"
OWNERSHIPS = (OWNER_ENFORCED, "BucketOwnerPreferred", "ObjectWriter")


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
