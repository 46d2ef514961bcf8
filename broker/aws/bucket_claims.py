"""Which provision configures a bucket, where CreateBucket cannot say.

In us-east-1 CreateBucket answers 200 to the bucket's owner for a bucket that already exists (a
legacy of S3), so two provisions of one instance id that both found no bucket both believe they
made it. Each then writes a claim object with S3's conditional write (`If-None-Match: *`): S3 lets
exactly one write it and answers the other 412 PreconditionFailed. The winner configures the
bucket and removes the claim once the bucket's record is written; the loser joins as a
provision that found the bucket. A provision that dies leaves its claim; whoever takes the bucket
over (see operations/provisioning) removes it.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from broker.aws.errors import aws_errors, error_code

# Under the broker's own prefix of object names, which tenants' keys are never meant to use.
CLAIM_KEY = ".s3-broker/provisioning-claim"
# The claim is written before versioning is ever set, so it is the bucket's null version.
NULL_VERSION = "null"


def claim(s3: Any, bucket: str) -> bool:
    """Write the claim object if no one has; True if this request holds the claim now."""
    try:
        s3.put_object(Bucket=bucket, Key=CLAIM_KEY, Body=b"", IfNoneMatch="*")
    except ClientError as error:
        if error_code(error) in ("PreconditionFailed", "ConditionalRequestConflict"):
            return False
        with aws_errors(f"claim bucket {bucket} for this provision"):
            raise
    return True


def release(s3: Any, bucket: str) -> None:
    """Remove the claim for good (its null version, so a versioned bucket keeps no trace of it)."""
    with aws_errors(f"remove the provisioning claim of bucket {bucket}"):
        s3.delete_object(Bucket=bucket, Key=CLAIM_KEY, VersionId=NULL_VERSION)


def claimed_at(s3: Any, bucket: str) -> float | None:
    """When the claim was written (epoch seconds); None when there is none."""
    try:
        return s3.head_object(Bucket=bucket, Key=CLAIM_KEY)["LastModified"].timestamp()
    except ClientError as error:
        if error_code(error) in ("404", "NoSuchKey", "NotFound"):
            return None
        with aws_errors(f"read the provisioning claim of bucket {bucket}"):
            raise
