"""Policy documents as plain dicts: what a binding's key, a public bucket and an external bucket allow.

Pure functions, no AWS calls. The action lists are the contract's read-only and read-write sets.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

VERSION = "2012-10-17"
# AWS counts an inline user policy's size without white space; 2,048 characters is the limit.
USER_POLICY_MAX_CHARS = 2048

READ_ONLY_BUCKET_ACTIONS = (
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:GetBucketLocation",
    "s3:GetBucketCORS",
)
READ_ONLY_OBJECT_ACTIONS = (
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:GetObjectTagging",
    "s3:GetObjectVersionTagging",
)
READ_WRITE_BUCKET_ACTIONS = (*READ_ONLY_BUCKET_ACTIONS, "s3:ListBucketMultipartUploads", "s3:PutBucketCORS")
READ_WRITE_OBJECT_ACTIONS = (
    *READ_ONLY_OBJECT_ACTIONS,
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectTagging",
    "s3:DeleteObjectTagging",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
)
# Listing is a bucket action, so a key limited to a prefix may list only under that prefix.
LIST_ACTIONS = ("s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads")

KMS_READ_ACTIONS = ("kms:Decrypt",)
KMS_WRITE_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def objects_arn(bucket: str, path_prefix: str | None = None) -> str:
    return f"arn:aws:s3:::{bucket}/{path_prefix or ''}*"


def _statement(sid: str, actions: Sequence[str], resources: Sequence[str], **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": list(resources), **extra}


def _bucket_statements(buckets: Sequence[str], read_only: bool, path_prefix: str | None) -> list[dict[str, Any]]:
    bucket_actions = READ_ONLY_BUCKET_ACTIONS if read_only else READ_WRITE_BUCKET_ACTIONS
    object_actions = READ_ONLY_OBJECT_ACTIONS if read_only else READ_WRITE_OBJECT_ACTIONS
    bucket_arns = [bucket_arn(bucket) for bucket in buckets]
    statements = []
    if path_prefix:
        listing = [action for action in bucket_actions if action in LIST_ACTIONS]
        others = [action for action in bucket_actions if action not in LIST_ACTIONS]
        prefix_condition = {"StringLike": {"s3:prefix": [f"{path_prefix}*"]}}
        statements.append(_statement("ListUnderPrefix", listing, bucket_arns, Condition=prefix_condition))
        statements.append(_statement("Bucket", others, bucket_arns))
    else:
        statements.append(_statement("Bucket", bucket_actions, bucket_arns))
    statements.append(_statement("Objects", object_actions, [objects_arn(b, path_prefix) for b in buckets]))
    return statements


def user_policy(
    buckets: Sequence[str],
    *,
    read_only: bool,
    path_prefix: str | None = None,
    kms_key_arns: Sequence[str] = (),
    allowed_source_cidrs: Sequence[str] = (),
) -> dict[str, Any]:
    """The inline policy of a binding's IAM user: these buckets, these actions, nothing else."""
    statements = _bucket_statements(buckets, read_only, path_prefix)
    if kms_key_arns:
        kms_actions = KMS_READ_ACTIONS if read_only else KMS_WRITE_ACTIONS
        statements.append(_statement("BucketKeys", kms_actions, sorted(set(kms_key_arns))))
    if allowed_source_cidrs:
        statements.append(
            {
                "Sid": "OnlyFromPlatform",
                "Effect": "Deny",
                "Action": "s3:*",
                # The key reaches nothing else anyway; "*" keeps the policy short (AWS caps its size).
                "Resource": "*",
                "Condition": {"NotIpAddress": {"aws:SourceIp": list(allowed_source_cidrs)}},
            }
        )
    return {"Version": VERSION, "Statement": statements}


def external_bucket_policy(bucket: str, user_arn: str, *, read_only: bool, path_prefix: str | None) -> dict[str, Any]:
    """The bucket policy the owner of an external bucket applies to let a binding's user in."""
    statements = _bucket_statements([bucket], read_only, path_prefix)
    for statement in statements:
        statement["Principal"] = {"AWS": user_arn}
    return {"Version": VERSION, "Statement": statements}


def public_read_policy(bucket: str) -> dict[str, Any]:
    """Anyone may read any object (not list the bucket)."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "PublicReadObjects",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject"],
                "Resource": [objects_arn(bucket)],
            }
        ],
    }


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


def minified(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


def fits_user_policy_limit(document: dict[str, Any]) -> bool:
    return len(minified(document)) <= USER_POLICY_MAX_CHARS
