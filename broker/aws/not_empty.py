"""The deletion guard's refusal: a bucket that still holds objects, and how to empty it."""

from __future__ import annotations

from broker.errors import Unprocessable


class BucketNotEmpty(Unprocessable):
    error = "BucketNotEmpty"


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
