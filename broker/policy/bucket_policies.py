"""A broker bucket's own bucket policy and Block Public Access settings, as plain dicts. Pure functions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from broker.settings import partition_of

VERSION = "2012-10-17"


def bucket_arn(bucket: str, partition: str = "aws") -> str:
    return f"arn:{partition}:s3:::{bucket}"


def objects_arn(bucket: str, path_prefix: str | None = None, partition: str = "aws") -> str:
    return f"arn:{partition}:s3:::{bucket}/{path_prefix or ''}*"


PUBLIC_READ_SID = "PublicReadObjects"
TLS_ONLY_SID = "DenyRequestsWithoutTLS"
SIGNED_READS_TLS_ONLY_SID = "DenySignedReadsWithoutTLS"


def public_read_policy(bucket: str, partition: str = "aws") -> dict[str, Any]:
    """Anyone may read any object (not list the bucket)."""
    document = bucket_policy(bucket, public=True, tls_only=False, partition=partition)
    assert document is not None
    return document


def bucket_policy(
    bucket: str,
    *,
    public: bool,
    tls_only: bool,
    referers: Sequence[str] = (),
    website: bool = False,
    partition: str = "aws",
) -> dict[str, Any] | None:
    """A broker bucket's whole bucket policy; None when it needs none.

    `tls_only` denies every request not made over TLS, whoever makes it (a Deny is never "public",
    so Block Public Access lets a private bucket have it). `public` lets anyone read objects (not
    list them), only from pages whose Referer matches one of `referers` when given: a Referer is
    easy to forge, so this keeps other sites from embedding the objects, it does not keep them secret.
    A public `website` is served by S3's website endpoint, which speaks HTTP only: its visitors'
    anonymous reads are the one thing the TLS-only Deny leaves out (they read what is public anyway).
    """
    statements: list[dict[str, Any]] = []
    resources = [bucket_arn(bucket, partition), objects_arn(bucket, partition=partition)]
    without_tls = {"Bool": {"aws:SecureTransport": "false"}}
    if tls_only and public and website:
        statements += [
            _deny_all(TLS_ONLY_SID, resources, without_tls, NotAction=["s3:GetObject"]),
            # A signed request carries aws:PrincipalArn, an anonymous one does not: keys read over TLS only.
            _deny_all(
                SIGNED_READS_TLS_ONLY_SID,
                resources[1:],
                {**without_tls, "Null": {"aws:PrincipalArn": "false"}},
                Action=["s3:GetObject"],
            ),
        ]
    elif tls_only:
        statements.append(_deny_all(TLS_ONLY_SID, resources, without_tls, Action="s3:*"))
    if public:
        statement: dict[str, Any] = {
            "Sid": PUBLIC_READ_SID,
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject"],
            "Resource": [objects_arn(bucket, partition=partition)],
        }
        if referers:
            statement["Condition"] = {"StringLike": {"aws:Referer": list(referers)}}
        statements.append(statement)
    return {"Version": VERSION, "Statement": statements} if statements else None


def _deny_all(sid: str, resources: list[str], condition: dict[str, Any], **actions: Any) -> dict[str, Any]:
    """A Deny for everyone; `actions` is Action=... or NotAction=..."""
    return {"Sid": sid, "Effect": "Deny", "Principal": "*", **actions, "Resource": resources, "Condition": condition}


def public_access_block(public: bool) -> dict[str, bool]:
    """Block Public Access: all on, except that a public bucket lets its bucket policy be public.

    ACLs stay blocked either way: the bucket enforces owner ownership and public reads come from
    the bucket policy alone.
    """
    return {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": not public,
        "RestrictPublicBuckets": not public,
    }


DELETING_SID = "NoWritesWhileDeleting"


def deleting_bucket_policy(bucket: str, region: str) -> str:
    """The whole bucket policy of a bucket being deleted, as JSON text: nobody writes to it any more.

    Every key that still names the bucket (another instance's, through additional_instances)
    would otherwise keep it from ever emptying. One Deny without a condition, for everyone: the
    broker itself only deletes from here on, and S3's lifecycle rules are not subject to it.
    s3:PutObject covers uploads, multipart uploads and copies into the bucket.
    """
    deny = {
        "Sid": DELETING_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["s3:PutObject"],
        "Resource": [objects_arn(bucket, partition=partition_of(region))],
    }
    return json.dumps({"Version": VERSION, "Statement": [deny]})
