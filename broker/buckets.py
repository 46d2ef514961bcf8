"""A bucket's life on S3: create and configure it, read its tags, empty it, delete it."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from botocore.exceptions import ClientError

from broker import policies, rollback
from broker.aws import run_concurrently
from broker.errors import BrokerError, Unprocessable, aws_errors, error_code
from broker.parameters import InstanceConfig
from broker.records import InstanceRecord, StoredInstance, instance_from_tags, instance_tags, provisioning_tags

log = logging.getLogger(__name__)

NO_SUCH_BUCKET = "NoSuchBucket"
US_EAST_1 = "us-east-1"
DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys


class BucketNotEmpty(Unprocessable):
    error = "BucketNotEmpty"


class Buckets:
    def __init__(self, s3: Any, region: str, pool: Executor) -> None:
        self.s3 = s3
        self.region = region
        self.pool = pool

    # --- reading ---------------------------------------------------------------------------

    def read_tags(self, bucket: str) -> list[dict[str, str]] | None:
        """The bucket's tags; [] when it has none; None when there is no such bucket."""
        try:
            return self.s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
        except ClientError as error:
            code = error_code(error)
            if code == NO_SUCH_BUCKET:
                return None
            if code == "NoSuchTagSet":
                return []
            with aws_errors(f"read the tags of bucket {bucket}"):
                raise

    def read(self, bucket: str) -> StoredInstance | None:
        """The instance a bucket holds; None when there is no bucket or it is not fully provisioned."""
        return self.read_from(self.read_tags(bucket))

    @staticmethod
    def read_from(tags: list[dict[str, str]] | None) -> StoredInstance | None:
        return instance_from_tags(tags) if tags else None

    def cors_rules(self, bucket: str) -> list[dict[str, Any]]:
        try:
            return self.s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
        except ClientError as error:
            if error_code(error) == "NoSuchCORSConfiguration":
                return []
            with aws_errors(f"read the CORS rules of bucket {bucket}"):
                raise

    # --- creating and configuring ------------------------------------------------------------

    def create_or_find(self, bucket: str) -> list[dict[str, str]] | None:
        """Create the bucket; if it is already there, return its tags instead ([] for none).

        Outside us-east-1, CreateBucket refuses a bucket the account already owns, so the usual
        case costs one call. In us-east-1 it answers 200 for such a bucket (a legacy of S3), so
        the tags are read first there.
        """
        if self.region == US_EAST_1:
            tags = self.read_tags(bucket)
            if tags is not None:
                return tags
        try:
            self.s3.create_bucket(**create_bucket_arguments(bucket, self.region))
            return None
        except ClientError as error:
            if error_code(error) == "BucketAlreadyOwnedByYou":
                return self.read_tags(bucket) or []
            with aws_errors(f"create bucket {bucket}"):
                raise

    def mark_provisioning(self, bucket: str, digest: str, started: float) -> None:
        """Say, before configuring, which provision is configuring the bucket (the full tags replace it)."""
        with aws_errors(f"tag bucket {bucket}"):
            self.s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": provisioning_tags(digest, started)})

    def finish(self, bucket: str, record: InstanceRecord, digest: str, *, made_now: bool) -> None:
        """Configure a bucket made for `record` (or left half-made by a provision that died); tag it last.

        The tags mark a bucket as fully provisioned. A bucket this request `made_now` is deleted if
        configuring fails; one it took over from a dead provision is set explicitly in every respect
        (that provision may have set anything) and left for the next retry.
        """
        try:
            self.mark_provisioning(bucket, digest, time.time())
            self.configure(bucket, None, record.config, explicit=not made_now)
            self.write_tags(bucket, record)
        except BaseException:
            if made_now:
                self._remove_after_failure(bucket)
            raise

    def configure(
        self, bucket: str, old: InstanceConfig | None, new: InstanceConfig, *, explicit: bool = False
    ) -> None:
        """Bring the bucket from config `old` (None: a new bucket) to `new`, independent parts at once.

        `explicit` sets every setting whatever the bucket had (old is unknown).
        """
        run_concurrently(self.pool, configuration_calls(self.s3, bucket, old, new, explicit=explicit))

    def write_tags(self, bucket: str, record: InstanceRecord) -> None:
        with aws_errors(f"tag bucket {bucket}"):
            self.s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": instance_tags(record)})

    def _remove_after_failure(self, bucket: str) -> None:
        rollback.undo(f"remove bucket {bucket}", lambda: self.s3.delete_bucket(Bucket=bucket))

    # --- emptying and deleting -----------------------------------------------------------------

    def empty(self, bucket: str) -> int:
        """Delete every object version, delete marker and unfinished multipart upload; return the count."""
        deleted = 0
        with aws_errors(f"empty bucket {bucket}"):
            for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
                keys = [
                    {"Key": item["Key"], "VersionId": item["VersionId"]}
                    for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                for start in range(0, len(keys), DELETE_BATCH):
                    batch = keys[start : start + DELETE_BATCH]
                    result = self.s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
                    if result.get("Errors"):
                        first = result["Errors"][0]
                        raise BrokerError(
                            f"AWS refused to delete {len(result['Errors'])} objects of bucket {bucket} "
                            f"(first: {first.get('Key')}: {first.get('Code')}). Try again."
                        )
                    deleted += len(batch)
            for page in self.s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
                for upload in page.get("Uploads", []):
                    self.s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        return deleted

    def delete(self, bucket: str) -> bool:
        """Delete the (empty) bucket; False when it was already gone (a concurrent deprovision)."""
        try:
            self.s3.delete_bucket(Bucket=bucket)
        except ClientError as error:
            if error_code(error) == "BucketNotEmpty":
                raise not_empty_error(bucket) from error
            if error_code(error) == NO_SUCH_BUCKET:
                return False
            with aws_errors(f"delete bucket {bucket}"):
                raise
        return True


def not_empty_error(bucket: str) -> BucketNotEmpty:
    # `aws s3 rm --recursive` leaves a versioned bucket's old versions and delete markers, which
    # still hold the bucket: the loop deletes each version and marker by its id.
    every_version = (
        f"aws s3api list-object-versions --bucket {bucket} --output text "
        "--query '[Versions, DeleteMarkers][][].[Key, VersionId]' | while IFS=$'\\t' read -r key id; "
        f'do aws s3api delete-object --bucket {bucket} --key "$key" --version-id "$id"; done'
    )
    return BucketNotEmpty(
        f"Bucket {bucket} still holds objects (or object versions or delete markers), so it was not deleted. "
        f"Empty it with a service key to it: `{every_version}` deletes every object, version and delete marker "
        f"(`aws s3 rm s3://{bucket} --recursive` is enough if versioning was never on). Or let the broker delete "
        "everything: `cf update-service SERVICE -c '{\"delete_objects_with_service\": true}'`. "
        "Then delete the service again."
    )


def create_bucket_arguments(bucket: str, region: str) -> dict[str, Any]:
    """CreateBucket's arguments: ACLs disabled; a LocationConstraint everywhere but us-east-1."""
    arguments: dict[str, Any] = {"Bucket": bucket, "ObjectOwnership": "BucketOwnerEnforced"}
    if region != US_EAST_1:
        arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
    return arguments


def encryption_rules(kms_key_arn: str | None) -> dict[str, Any]:
    if kms_key_arn:
        default: dict[str, str] = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key_arn}
        return {"Rules": [{"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": True}]}
    return {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}


def configuration_calls(
    s3: Any, bucket: str, old: InstanceConfig | None, new: InstanceConfig, *, explicit: bool = False
) -> list[Callable[[], None]]:
    """The independent calls that take a bucket from `old` to `new`; each may run at once with the others.

    Public access is one call chain because order matters on AWS: the policy blocks of Block
    Public Access must be relaxed before a public policy is accepted, and a public policy is
    removed before they are raised again.
    """
    fresh = old is None and not explicit
    calls: list[Callable[[], None]] = []

    def public_access() -> None:
        with aws_errors(f"set public access on bucket {bucket}"):
            if new.public:
                s3.put_public_access_block(
                    Bucket=bucket, PublicAccessBlockConfiguration=policies.public_access_block(True)
                )
                s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policies.public_read_policy(bucket)))
            else:
                if not fresh:
                    s3.delete_bucket_policy(Bucket=bucket)  # answers 204 when there is none
                s3.put_public_access_block(
                    Bucket=bucket, PublicAccessBlockConfiguration=policies.public_access_block(False)
                )

    def encryption() -> None:
        with aws_errors(f"set default encryption on bucket {bucket}"):
            s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=encryption_rules(new.kms_key_arn))

    def versioning() -> None:
        with aws_errors(f"set versioning on bucket {bucket}"):
            status = "Enabled" if new.versioning else "Suspended"
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})

    def cors() -> None:
        with aws_errors(f"set the CORS rules of bucket {bucket}"):
            if new.cors_rules:
                s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": new.cors_rules})
            else:
                s3.delete_bucket_cors(Bucket=bucket)

    if old is None:
        calls += [public_access, encryption]
        if new.versioning or explicit:
            calls.append(versioning)
        if new.cors_rules or explicit:
            calls.append(cors)
        return calls
    if old.public != new.public:
        calls.append(public_access)
    if old.kms_key_arn != new.kms_key_arn:
        calls.append(encryption)
    if old.versioning != new.versioning:
        calls.append(versioning)
    if old.cors_rules != new.cors_rules:
        calls.append(cors)
    return calls
