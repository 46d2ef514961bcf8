"""What `python -m broker reconcile` reads from AWS: every binding user, every bucket of the prefix.

Calls: ListUsers (one per 1,000 users of the path), then per binding user GetUser and
ListAttachedUserPolicies; ListBuckets (one per 1,000 buckets), then per bucket of the prefix
GetBucketTagging. They run a few at a time on the caller's pool, never in a burst.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

from botocore.exceptions import ClientError

from broker.aws import bucket_claims
from broker.aws.buckets import Buckets
from broker.aws.errors import aws_errors, error_code
from broker.aws.user_state import describe
from broker.model.leftovers import UserFacts, instance_of
from broker.model.records import INSTANCE_ID


def binding_users(iam: Any, pool: Executor, path_root: str, name_prefix: str) -> list[UserFacts]:
    """Every user of the broker's IAM path and name prefix (those under an instance's path, and those
    earlier releases made at the root itself); a user deleted meanwhile is left out."""
    with aws_errors(f"list the IAM users under {path_root}"):
        pages = iam.get_paginator("list_users").paginate(PathPrefix=path_root)
        names = [user["UserName"] for page in pages for user in page["Users"]]
    listed = pool.map(lambda name: _user_facts(iam, name, path_root), [n for n in names if n.startswith(name_prefix)])
    return [facts for facts in listed if facts is not None]


def _user_facts(iam: Any, name: str, path_root: str) -> UserFacts | None:
    state = describe(iam, name)
    if state is None:
        return None
    try:
        attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            return None
        with aws_errors(f"list the managed policies of IAM user {name}"):
            raise
    return UserFacts(
        name=name,
        instance_id=instance_of(state.path, path_root, state.tags, INSTANCE_ID),
        boundary_arn=state.boundary_arn,
        attached_policies=tuple(policy["PolicyName"] for policy in attached),
    )


def prefix_buckets(buckets: Buckets, pool: Executor, prefix: str) -> dict[str, list[dict[str, str]]]:
    """Every bucket whose name starts with the prefix, with its tags; one deleted meanwhile is left out."""
    with aws_errors("list the account's buckets"):
        pages = buckets.s3.get_paginator("list_buckets").paginate()
        names = [b["Name"] for page in pages for b in page.get("Buckets", []) if b["Name"].startswith(prefix)]
    tagged = zip(names, pool.map(buckets.read_tags, names), strict=True)
    return {name: tags for name, tags in tagged if tags is not None}


def holds_objects(s3: Any, bucket: str) -> bool:
    """Whether the bucket holds any object version, delete marker or unfinished upload, the provisioning
    claim aside (ListObjectVersions and ListMultipartUploads, one page of two at most)."""
    with aws_errors(f"look into bucket {bucket}"):
        page = s3.list_object_versions(Bucket=bucket, MaxKeys=2)
        items = page.get("Versions", []) + page.get("DeleteMarkers", [])
        if page.get("IsTruncated") or any(item["Key"] != bucket_claims.CLAIM_KEY for item in items):
            return True
        return bool(s3.list_multipart_uploads(Bucket=bucket, MaxUploads=1).get("Uploads"))
