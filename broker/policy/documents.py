"""Policy documents as plain dicts: what a binding's key, a public bucket and an external bucket allow.

Pure functions, no AWS calls. The action lists are the contract's read-only and read-write sets.
Every Condition key used here is one AWS documents for the actions it is attached to (the tests
check each document with parliament).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

# The bucket-level documents have a module of their own; their names stay reachable from here.
from broker.policy.bucket_policies import PUBLIC_READ_SID as PUBLIC_READ_SID
from broker.policy.bucket_policies import SIGNED_READS_TLS_ONLY_SID as SIGNED_READS_TLS_ONLY_SID
from broker.policy.bucket_policies import TLS_ONLY_SID as TLS_ONLY_SID
from broker.policy.bucket_policies import bucket_arn as bucket_arn
from broker.policy.bucket_policies import bucket_policy as bucket_policy
from broker.policy.bucket_policies import deleting_bucket_policy as deleting_bucket_policy
from broker.policy.bucket_policies import objects_arn as objects_arn
from broker.policy.bucket_policies import public_access_block as public_access_block
from broker.policy.bucket_policies import public_read_policy as public_read_policy
from broker.policy.conditions import (
    outside_platform_condition,
    resource_account_condition,
    until_condition,
    with_condition,
)

VERSION = "2012-10-17"
ACCOUNT_ID = re.compile(r"[0-9]{12}")
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


def key_actions(*, read_only: bool, write_only: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
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
        prefix_condition = with_condition({"StringLike": {"s3:prefix": [f"{path_prefix}*"]}}, condition)
        if listing:
            statements.append(_statement(f"{sid}ListUnderPrefix", listing, bucket_arns, Condition=prefix_condition))
        if others:
            statements.append(_statement(f"{sid}Bucket", others, bucket_arns, **extra))
    elif bucket_actions:  # a write-only key has none
        statements.append(_statement(f"{sid}Bucket", bucket_actions, bucket_arns, **extra))
    objects = [objects_arn(bucket, path_prefix, partition) for bucket in buckets]
    statements.append(_statement(f"{sid}Objects", object_actions, objects, **extra))
    return statements


def user_policy(
    buckets: Sequence[str],
    *,
    read_only: bool,
    write_only: bool = False,
    path_prefix: str | None = None,
    own_account: str,
    external_buckets: Sequence[str] = (),
    external_accounts: Sequence[str] = (),
    kms_key_arns: Sequence[str] = (),
    s3_service: str = "",
    allowed_source_cidrs: Sequence[str] = (),
    allowed_vpc_endpoints: Sequence[str] = (),
    expires_at: str | None = None,
    partition: str = "aws",
) -> dict[str, Any]:
    """The inline policy of a binding's IAM user: these buckets, these actions, nothing else.

    `buckets` are the broker's own, and reached only in `own_account`: a bucket of that name made
    in another account after a deprovision (S3 bucket names are global) is out of the key's reach.
    `external_buckets` are buckets of `external_accounts` only (those the operator allows), never
    of `own_account`, and reachable only when their owners allow the key's user. KMS keys are usable
    only by S3 (`s3_service`, as kms:ViaService names it) on the key's behalf. With `expires_at`,
    every Allow holds only until then: this policy is all the key is granted, so after that time
    AWS refuses it everything, whether or not the broker still runs.
    """
    bucket_actions, object_actions = key_actions(read_only=read_only, write_only=write_only)
    if not ACCOUNT_ID.fullmatch(own_account):
        raise ValueError(f"{own_account!r} is not the broker's AWS account id (12 digits)")
    statements = _access_statements(
        "",
        buckets,
        bucket_actions,
        object_actions,
        path_prefix=path_prefix,
        partition=partition,
        condition=resource_account_condition([own_account]),
    )
    if external_buckets:
        if not external_accounts or own_account in external_accounts:
            raise ValueError("external buckets need the accounts they may belong to, never the broker's own")
        statements += _access_statements(
            "External",
            external_buckets,
            () if write_only else EXTERNAL_BUCKET_ACTIONS,
            object_actions,
            path_prefix=path_prefix,
            partition=partition,
            condition=resource_account_condition(external_accounts),
        )
    if kms_key_arns:
        if not s3_service:
            raise ValueError("KMS permissions need the S3 service name for kms:ViaService")
        # An upload needs both: GenerateDataKey for the object's key, Decrypt to complete a multipart upload.
        kms_actions = KMS_READ_ACTIONS if read_only else KMS_WRITE_ACTIONS
        via_s3 = {"StringEquals": {"kms:ViaService": [s3_service]}}
        statements.append(_statement("BucketKeys", kms_actions, sorted(set(kms_key_arns)), Condition=via_s3))
    if expires_at:
        for statement in statements:  # each has a Condition already: the account or kms:ViaService one
            statement["Condition"] = with_condition(statement["Condition"], until_condition(expires_at))
    if allowed_source_cidrs or allowed_vpc_endpoints:
        statements.append(
            {
                "Sid": "OnlyFromPlatform",
                "Effect": "Deny",
                # Not kms:*: S3's calls to KMS on the key's behalf carry neither aws:SourceIp nor
                # aws:SourceVpce, so SSE-KMS through a VPC endpoint would be refused. KMS needs no Deny:
                # the key may use KMS only through S3 (kms:ViaService), whose requests this Deny judges.
                "Action": ["s3:*"],
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


def minified(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


def fits_user_policy_limit(document: dict[str, Any]) -> bool:
    return len(minified(document)) <= USER_POLICY_MAX_CHARS
