"""A bucket's life on S3: create and configure it, read its tags, empty it, delete it."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import replace
from typing import Any

from botocore.exceptions import ClientError

from broker import rollback
from broker.aws import bucket_claims
from broker.aws.bucket_config import configuration_calls, create_bucket_arguments
from broker.aws.clients import run_concurrently
from broker.aws.errors import aws_errors, error_code
from broker.aws.not_empty import not_empty_error
from broker.aws_names import US_EAST_1
from broker.errors import BrokerError
from broker.model import bucket_options, s3_configuration
from broker.model.bucket_options import BucketOptions
from broker.model.parameters import InstanceConfig
from broker.model.records import (
    InstanceRecord,
    StoredInstance,
    deleting_tags,
    instance_from_tags,
    instance_tags,
    provisioning_tags,
)
from broker.policy import documents

log = logging.getLogger(__name__)

NO_SUCH_BUCKET = "NoSuchBucket"
DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys
# Unfinished multipart uploads aborted per emptying step (one call each), to keep a step short.
ABORT_BATCH = 100


class Buckets:
    def __init__(self, s3: Any, region: str, pool: Executor, *, tls_endpoint: bool = True) -> None:
        """`tls_endpoint`: S3 is reached over HTTPS. When it is not (the local backend serves plain
        HTTP), a TLS-only bucket policy would refuse every request, so it is left out."""
        self.s3 = s3
        self.region = region
        self.pool = pool
        self.tls_endpoint = tls_endpoint

    # --- reading ---------------------------------------------------------------------------

    def read_tags(self, bucket: str) -> list[dict[str, str]] | None:
        """The bucket's tags; [] when it has none; None when there is no such bucket.

        A tag with an empty value may come back without its Value (the local backend leaves the
        empty element out): it is read as "", so it can be read, compared and written back.
        """
        try:
            tag_set = self.s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
            return [{"Key": tag["Key"], "Value": tag.get("Value", "")} for tag in tag_set]
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

    def _read_or(self, missing: str, doing: str, call: Callable[[], Any], default: Any) -> Any:
        try:
            return call()
        except ClientError as error:
            if error_code(error) == missing:
                return default
            with aws_errors(doing):
                raise

    def read_options(self, bucket: str, stored: StoredInstance) -> BucketOptions:
        """The instance's options with those kept in S3 configurations (not tags) read back, at once."""
        options = stored.record.config.options
        found: dict[str, Any] = {}

        def policy() -> None:
            text = self._read_or(
                "NoSuchBucketPolicy",
                f"read the policy of bucket {bucket}",
                lambda: self.s3.get_bucket_policy(Bucket=bucket)["Policy"],
                None,
            )
            document = json.loads(text) if text else None
            found["public_read_referers"] = s3_configuration.referers_from_policy(document, documents.PUBLIC_READ_SID)

        def lifecycle() -> None:
            rules = self._read_or(
                "NoSuchLifecycleConfiguration",
                f"read the lifecycle rules of bucket {bucket}",
                lambda: self.s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"],
                [],
            )
            found["lifecycle"] = s3_configuration.lifecycle_from_rules(rules)

        def website() -> None:
            configuration = self._read_or(
                "NoSuchWebsiteConfiguration",
                f"read the website configuration of bucket {bucket}",
                lambda: self.s3.get_bucket_website(Bucket=bucket),
                None,
            )
            found["website"] = s3_configuration.website_from_configuration(configuration)

        readers = {"policy": policy, "lifecycle": lifecycle, "website": website}
        run_concurrently(self.pool, [readers[part] for part in stored.options_read if part in readers])
        return replace(options, **found)

    # --- creating and configuring ------------------------------------------------------------

    def create_or_find(
        self, bucket: str, ownership: str = bucket_options.OWNER_ENFORCED
    ) -> list[dict[str, str]] | None:
        """Create the bucket; if it is already there, return its tags instead ([] for none).

        Outside us-east-1, CreateBucket refuses a bucket the account already owns, so the usual
        case costs one call. In us-east-1 it answers 200 for such a bucket (a legacy of S3), so
        the tags are read first there, and a claim (bucket_claims) settles who made it.
        """
        if self.region == US_EAST_1:
            tags = self.read_tags(bucket)
            if tags is not None:
                return tags
        try:
            self.s3.create_bucket(**create_bucket_arguments(bucket, self.region, ownership))
        except ClientError as error:
            if error_code(error) == "BucketAlreadyOwnedByYou":
                return self.read_tags(bucket) or []
            with aws_errors(f"create bucket {bucket}"):
                raise
        if self.region != US_EAST_1:
            return None
        if not bucket_claims.claim(self.s3, bucket):
            return self.read_tags(bucket) or []  # another provision made it a moment ago
        tags = self.read_tags(bucket)  # a provision that made it, and finished, since the first look
        if tags:
            bucket_claims.release(self.s3, bucket)
        return tags or None

    def mark_provisioning(self, bucket: str, digest: str, started: float) -> None:
        """Say, as configuring begins, which provision is configuring the bucket (the full tags replace it)."""
        self.put_tag_set(bucket, provisioning_tags(digest, started))

    def finish(self, bucket: str, record: InstanceRecord, digest: str, *, made_now: bool) -> None:
        """Configure a bucket made for `record` (or left half-made by a provision that died); tag it last.

        The tags mark a bucket as fully provisioned. A bucket this request `made_now` is deleted if
        configuring fails; one it took over from a dead provision is set explicitly in every respect
        (that provision may have set anything) and left for the next retry.
        """
        try:
            # The mark goes with the first configuration calls, not before them: a concurrent provision
            # waits NO_MARKER_GRACE for it, and the full tags that replace it come only after all of them.
            started = time.time()
            calls = configuration_calls(
                self.s3, bucket, None, record.config, explicit=not made_now, tls_endpoint=self.tls_endpoint
            )
            run_concurrently(self.pool, [lambda: self.mark_provisioning(bucket, digest, started), *calls])
            self.write_tags(bucket, record)
            if self.region == US_EAST_1:  # this provision's claim, or a dead one's it took over
                bucket_claims.release(self.s3, bucket)
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
        calls = configuration_calls(self.s3, bucket, old, new, explicit=explicit, tls_endpoint=self.tls_endpoint)
        run_concurrently(self.pool, calls)

    def write_tags(self, bucket: str, record: InstanceRecord) -> None:
        self.put_tag_set(bucket, instance_tags(record))

    def put_tag_set(self, bucket: str, tag_set: list[dict[str, str]]) -> None:
        with aws_errors(f"tag bucket {bucket}"):
            self.s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tag_set})

    def _remove_after_failure(self, bucket: str) -> None:
        if self.region == US_EAST_1:
            rollback.undo(f"remove the claim of bucket {bucket}", lambda: bucket_claims.release(self.s3, bucket))
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

    def holds_more_than(self, bucket: str, limit: int) -> bool:
        """Whether the bucket holds more than `limit` versions and delete markers, or unfinished uploads."""
        with aws_errors(f"count the objects of bucket {bucket}"):
            page = self.s3.list_object_versions(Bucket=bucket, MaxKeys=max(limit, 1))
            count = len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))
            if page.get("IsTruncated") or count > limit:
                return True
            uploads = self.s3.list_multipart_uploads(Bucket=bucket, MaxUploads=max(limit, 1))
            return bool(uploads.get("IsTruncated")) or len(uploads.get("Uploads", [])) > limit

    def start_emptying(self, bucket: str, tags: list[dict[str, str]], started: float) -> None:
        """Mark the bucket as being deleted (any broker process can then finish the job), let S3 expire
        everything, deny all writes (other instances' keys may name it). Each call is idempotent."""
        with aws_errors(f"mark bucket {bucket} for deletion"):
            self.s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": deleting_tags(tags, started)})
        with aws_errors(f"set the rules and the policy that empty bucket {bucket}"):
            rules = {"Rules": s3_configuration.emptying_rules()}
            self.s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=rules)
            self.s3.put_bucket_policy(Bucket=bucket, Policy=documents.deleting_bucket_policy(bucket, self.region))

    def empty_some(self, bucket: str, limit: int) -> int:
        """One bounded step of emptying: up to `limit` versions and delete markers (at most one page),
        and as many unfinished uploads (at most ABORT_BATCH, one call each).

        S3's lifecycle rules do the bulk on AWS, within days; these steps make progress meanwhile
        (and are all there is on a local backend, which runs no lifecycle rules).
        """
        limit = min(limit, DELETE_BATCH)
        if limit <= 0:
            return 0
        with aws_errors(f"empty bucket {bucket}"):
            page = self.s3.list_object_versions(Bucket=bucket, MaxKeys=limit)
            keys = [
                {"Key": item["Key"], "VersionId": item["VersionId"]}
                for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ][:limit]
            if keys:
                self.s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            aborts = min(limit, ABORT_BATCH)
            uploads = self.s3.list_multipart_uploads(Bucket=bucket, MaxUploads=aborts).get("Uploads", [])
            for upload in uploads[:aborts]:
                self.s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        return len(keys)

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
