"""AWS's own rules for the names the broker makes, and S3's one legacy region: written once, here."""

from __future__ import annotations

S3_BUCKET_NAME_MAX = 63
IAM_USER_NAME_MAX = 64
# The characters IAM accepts in a user name (and so in an IAM_USER_PREFIX or a binding id).
IAM_NAME_CHARACTERS = r"[A-Za-z0-9_+=,.@-]+"
# Bucket name starts and ends S3 reserves for its own features (access points, directory
# buckets, table buckets, multi-region access points, demo names, punycode).
S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
S3_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3", ".mrap")
# S3's first region: CreateBucket there takes no LocationConstraint, and answers 200 to a bucket's
# owner who creates it again (everywhere else that is BucketAlreadyOwnedByYou).
US_EAST_1 = "us-east-1"


def reserved_bucket_name(name: str) -> str | None:
    """The reserved prefix or suffix a bucket name uses, or None."""
    for prefix in S3_RESERVED_PREFIXES:
        if name.startswith(prefix):
            return prefix
    for suffix in S3_RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return None
