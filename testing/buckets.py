"""Buckets made for a test through the broker, with what a deletion has to clear."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from testing.harness import BASIC, OSBClient, new_id


def bucket(instance_id: str) -> str:
    return f"cf-s3-{instance_id}"


def bucket_exists(s3: Any, instance_id: str) -> bool:
    """One HeadBucket call (a listing of every bucket would grow with the session)."""
    try:
        s3.head_bucket(Bucket=bucket(instance_id))
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchBucket"):
            return False
        raise


def versioned_bucket_with_leftovers(osb: OSBClient, s3: Any, files: int) -> str:
    """A versioned bucket that lets the broker delete its objects, holding two versions of each of
    `files` objects, a delete marker and an unfinished multipart upload; returns its instance id."""
    instance = new_id()
    parameters = {"versioning": True, "delete_objects_with_service": True}
    assert osb.provision(instance, BASIC, parameters).status_code == 201
    name = bucket(instance)
    for n in range(files):
        s3.put_object(Bucket=name, Key=f"file-{n}", Body=b"v1")
        s3.put_object(Bucket=name, Key=f"file-{n}", Body=b"v2")
    s3.delete_object(Bucket=name, Key="file-0")
    s3.create_multipart_upload(Bucket=name, Key="unfinished")
    return instance
