"""Policy documents as plain dicts: what a binding's key, a public bucket and an external bucket allow.

Pure functions, no AWS calls. The action lists are the contract's read-only and read-write sets.
Every Condition key used here is one AWS documents for the actions it is attached to (the tests
check each document with parliament).
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
# An upload-only key: put objects, including multipart uploads (whose create, upload-part and
# complete steps are all s3:PutObject), and clean up its own unfinished uploads. Nothing that reads,
# lists the bucket or deletes an object.
WRITE_ONLY_OBJECT_ACTIONS = ("s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts")
# The listings that take s3:prefix: a key limited to a prefix may list only under it.
PREFIX_LISTING_ACTIONS = ("s3:ListBucket", "s3:ListBucketVersions")
# Bucket actions a prefix key never gets: they act on (or list) the whole bucket, and
# ListBucketMultipartUploads takes no s3:prefix condition to narrow it.
WHOLE_BUCKET_ACTIONS = ("s3:ListBucketMultipartUploads", "s3:PutBucketCORS")
# What a key may do on a bucket of another account: objects and listings, never its configuration.
EXTERNAL_BUCKET_ACTIONS = ("s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation")

KMS_READ_ACTIONS = ("kms:Decrypt",)
KMS_WRITE_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


def bucket_arn(bucket: str, partition: str = "aws") -> str:
    return f"arn:{partition}:s3:::{bucket}"


def objects_arn(bucket: str, path_prefix: str | None = None, partition: str = "aws") -> str:
    return f"arn:{partition}:s3:::{bucket}/{path_prefix or ''}*"


def key_actions(*, read_only: bool, write_only: bool = False) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The bucket and object actions of a key with these permissions."""
    if read_only and write_only:
        raise ValueError("a key is read-only or write-only, not both")
    if write_only:
        return (), WRITE_ONLY_OBJECT_ACTIONS
    if read_only:
        return READ_ONLY_BUCKET_ACTIONS, READ_ONLY_OBJECT_ACTIONS
    return READ_WRITE_BUCKET_ACTIONS, READ_WRITE_OBJECT_ACTIONS


def _statement(sid: str, actions: Sequence[str], resources: Sequence[str], **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": list(resources), **extra}


def _with_condition(condition: dict[str, Any], more: dict[str, Any] | None) -> dict[str, Any]:
    merged = {operator: dict(keys) for operator, keys in condition.items()}
    for operator, keys in (more or {}).items():
        merged.setdefault(operator, {}).update(keys)
    return merged


def _access_statements(
    sid: str,
    buckets: Sequence[str],
    bucket_actions: Sequence[str],
    object_actions: Sequence[str],
    *,
    path_prefix: str | None,
    partition: str,
    condition: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Bucket and object statements for `buckets`, each carrying `condition` when given."""
    bucket_arns = [bucket_arn(bucket, partition) for bucket in buckets]
    extra = {"Condition": condition} if condition else {}
    statements = []
    if path_prefix:
        listing = [action for action in bucket_actions if action in PREFIX_LISTING_ACTIONS]
        others = [a for a in bucket_actions if a not in PREFIX_LISTING_ACTIONS and a not in WHOLE_BUCKET_ACTIONS]
        prefix_condition = _with_condition({"StringLike": {"s3:prefix": [f"{path_prefix}*"]}}, condition)
        if listing:
            statements.append(_statement(f"{sid}ListUnderPrefix", listing, bucket_arns, Condition=prefix_condition))
        if others:
            statements.append(_statement(f"{sid}Bucket", others, bucket_arns, **extra))
    elif bucket_actions:  # a write-only key has none
        statements.append(_statement(f"{sid}Bucket", bucket_actions, bucket_arns, **extra))
    objects = [objects_arn(bucket, path_prefix, partition) for bucket in buckets]
    statements.append(_statement(f"{sid}Objects", object_actions, objects, **extra))
    return statements


def other_account_condition(own_account: str) -> dict[str, Any]:
    """True only for buckets that are not of the broker's own account."""
    return {"StringNotEquals": {"s3:ResourceAccount": [own_account]}}


def until_condition(expires_at: str) -> dict[str, Any]:
    """True only before `expires_at` (ISO 8601, UTC): AWS compares it with the time of each request."""
    return {"DateLessThan": {"aws:CurrentTime": expires_at}}


def outside_platform_condition(source_cidrs: Sequence[str], vpc_endpoints: Sequence[str]) -> dict[str, Any]:
    """True for a request from none of the platform's address ranges and none of its S3 VPC endpoints.

    A Deny's condition operators are ANDed: deny when the address is outside every range AND the
    endpoint is none of the platform's. A request through a VPC endpoint carries no aws:SourceIp,
    and one from the internet no aws:SourceVpce; for these negated operators an absent key counts
    as "not one of the allowed" (the IfExists forms say so explicitly), so each path is judged by
    the key it has.
    """
    if not vpc_endpoints:
        return {"NotIpAddress": {"aws:SourceIp": list(source_cidrs)}}
    condition: dict[str, Any] = {"StringNotEqualsIfExists": {"aws:SourceVpce": list(vpc_endpoints)}}
    if source_cidrs:
        condition["NotIpAddressIfExists"] = {"aws:SourceIp": list(source_cidrs)}
    return condition


def user_policy(
    buckets: Sequence[str],
    *,
    read_only: bool,
    write_only: bool = False,
    path_prefix: str | None = None,
    external_buckets: Sequence[str] = (),
    own_account: str = "",
    kms_key_arns: Sequence[str] = (),
    s3_service: str = "",
    allowed_source_cidrs: Sequence[str] = (),
    allowed_vpc_endpoints: Sequence[str] = (),
    expires_at: str | None = None,
    partition: str = "aws",
) -> dict[str, Any]:
    """The inline policy of a binding's IAM user: these buckets, these actions, nothing else.

    `buckets` are the broker's own; `external_buckets` are buckets of other accounts, reachable
    only when their owners allow it, and never a bucket of `own_account`. KMS keys are usable
    only by S3 (`s3_service`, as kms:ViaService names it) on the key's behalf. With `expires_at`,
    every Allow holds only until then: this policy is all the key is granted, so after that time
    AWS refuses it everything, whether or not the broker still runs.
    """
    bucket_actions, object_actions = key_actions(read_only=read_only, write_only=write_only)
    statements = _access_statements(
        "", buckets, bucket_actions, object_actions, path_prefix=path_prefix, partition=partition
    )
    if external_buckets:
        if not own_account:
            raise ValueError("external buckets need the broker's own account id, to keep them out of it")
        statements += _access_statements(
            "External",
            external_buckets,
            () if write_only else EXTERNAL_BUCKET_ACTIONS,
            object_actions,
            path_prefix=path_prefix,
            partition=partition,
            condition=other_account_condition(own_account),
        )
    if kms_key_arns:
        if not s3_service:
            raise ValueError("KMS permissions need the S3 service name for kms:ViaService")
        # An upload needs both: GenerateDataKey for the object's key, Decrypt to complete a multipart upload.
        kms_actions = KMS_READ_ACTIONS if read_only else KMS_WRITE_ACTIONS
        via_s3 = {"StringEquals": {"kms:ViaService": [s3_service]}}
        statements.append(_statement("BucketKeys", kms_actions, sorted(set(kms_key_arns)), Condition=via_s3))
    if expires_at:
        for statement in statements:
            statement["Condition"] = _with_condition(statement.get("Condition", {}), until_condition(expires_at))
    if allowed_source_cidrs or allowed_vpc_endpoints:
        statements.append(
            {
                "Sid": "OnlyFromPlatform",
                "Effect": "Deny",
                "Action": ["s3:*", "kms:*"],
                # The key reaches nothing else anyway; "*" keeps the policy short (AWS caps its size).
                "Resource": "*",
                "Condition": outside_platform_condition(allowed_source_cidrs, allowed_vpc_endpoints),
            }
        )
    return {"Version": VERSION, "Statement": statements}


def external_bucket_policy(
    bucket: str,
    user_arn: str,
    *,
    read_only: bool,
    path_prefix: str | None,
    partition: str = "aws",
    write_only: bool = False,
) -> dict[str, Any]:
    """The bucket policy the owner of an external bucket applies to let a binding's user in."""
    _, object_actions = key_actions(read_only=read_only, write_only=write_only)
    bucket_actions = () if write_only else EXTERNAL_BUCKET_ACTIONS
    statements = _access_statements(
        "", [bucket], bucket_actions, object_actions, path_prefix=path_prefix, partition=partition
    )
    for statement in statements:
        statement["Principal"] = {"AWS": user_arn}
    return {"Version": VERSION, "Statement": statements}


PUBLIC_READ_SID = "PublicReadObjects"
TLS_ONLY_SID = "DenyRequestsWithoutTLS"


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
    partition: str = "aws",
) -> dict[str, Any] | None:
    """A broker bucket's whole bucket policy; None when it needs none.

    `tls_only` denies every request not made over TLS, whoever makes it (a Deny is never "public",
    so Block Public Access lets a private bucket have it). `public` lets anyone read objects (not
    list them), only from pages whose Referer matches one of `referers` when given: a Referer is
    easy to forge, so this keeps other sites from embedding the objects, it does not keep them secret.
    """
    statements: list[dict[str, Any]] = []
    if tls_only:
        statements.append(
            {
                "Sid": TLS_ONLY_SID,
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn(bucket, partition), objects_arn(bucket, partition=partition)],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        )
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
