"""Provisioning a bucket once, whichever of several concurrent requests for one instance id gets there."""

from __future__ import annotations

import logging
import time

from broker import deadlines
from broker.aws import bucket_claims
from broker.aws.buckets import Buckets
from broker.aws_names import US_EAST_1
from broker.errors import ConcurrencyError, Conflict
from broker.model.parameters import fingerprint
from broker.model.records import InstanceRecord, carries_broker_mark, deleting_since, provisioning_marker
from broker.settings import Settings

log = logging.getLogger(__name__)

# A concurrent provision of the same instance is waited for this long before answering 422.
JOIN_WAIT = 10.0
JOIN_POLL = 0.2
# The provision that made a bucket marks it within milliseconds; none after this means it died.
NO_MARKER_GRACE = 1.0


def not_the_brokers(bucket: str) -> str:
    return (
        f"Bucket {bucket} exists but carries none of this broker's marks (its s3-broker: tags): the broker "
        "did not make it, so it neither configures nor deletes it. Use another instance id; if the bucket "
        "is an empty one left by a provision that failed, its account's operator may delete it."
    )


class Provisioning:
    def __init__(self, settings: Settings, buckets: Buckets) -> None:
        self.settings = settings
        self.buckets = buckets

    def settle(self, record: InstanceRecord) -> bool:
        """Make the bucket for a validated record; True if created, False if an identical one exists."""
        instance_id = record.instance_id
        bucket = self.settings.bucket_name(instance_id)
        digest = fingerprint(record.identity())
        tags = self.buckets.create_or_find(bucket, record.config.options.object_ownership)
        if tags is None:  # this request made the bucket: it alone configures it
            self._configure(bucket, record, digest, made_now=True)
            return True
        return self._join(instance_id, bucket, record, digest, tags)

    def _configure(self, bucket: str, record: InstanceRecord, digest: str, *, made_now: bool) -> None:
        self.buckets.finish(bucket, record, digest, made_now=made_now)
        log.info("provisioned instance %s as bucket %s", record.instance_id, bucket)

    def _join(
        self, instance_id: str, bucket: str, record: InstanceRecord, digest: str, tags: list[dict[str, str]]
    ) -> bool:
        """The bucket was there already: a repeat, a conflict, a provision in progress, or one that died.

        A provision in progress with the same request is waited for (within the request's time);
        one that died (no marker after a moment, or a marker older than any request can run) is
        taken over. Returns True if this request finished the bucket.
        """
        waited = 0.0
        while True:
            if deleting_since(tags) is not None:
                raise ConcurrencyError(
                    f"Instance {instance_id} is still being deleted (bucket {bucket}). Try again once it is gone."
                )
            stored = self.buckets.read_from(tags)
            if stored is not None:
                if stored.identity() == record.identity():
                    return False
                raise Conflict(
                    f"Instance {instance_id} already exists (bucket {bucket}) with other settings. "
                    "Use `cf update-service` to change them."
                )
            marker = provisioning_marker(tags)
            died = (marker is None and waited >= NO_MARKER_GRACE and not self._claim_is_live(bucket)) or (
                marker is not None and time.time() - marker.started > deadlines.LONGER_THAN_ANY_REQUEST
            )
            if not died and marker is not None and marker.digest != digest:
                raise Conflict(f"Instance {instance_id} is being provisioned with other settings (bucket {bucket}).")
            if died and not carries_broker_mark(tags):
                # The provision that made it would have marked it by now: it is someone else's bucket.
                raise Conflict(not_the_brokers(bucket))
            if died:
                log.warning("taking over bucket %s, left half-made by a provision that did not finish", bucket)
                self._configure(bucket, record, digest, made_now=False)
                return True
            if waited >= JOIN_WAIT:
                raise ConcurrencyError(
                    f"Instance {instance_id} is being provisioned by another request. Try again in a minute."
                )
            time.sleep(JOIN_POLL)
            waited += JOIN_POLL
            tags = self.buckets.read_tags(bucket)
            if tags is None:
                raise ConcurrencyError(
                    f"The other provision of instance {instance_id} failed and removed its bucket. Try again."
                )

    def _claim_is_live(self, bucket: str) -> bool:
        """In us-east-1, a provision that holds a fresh claim is alive however slow it is to mark the bucket."""
        if self.settings.aws_region != US_EAST_1:
            return False
        claimed = bucket_claims.claimed_at(self.buckets.s3, bucket)
        return claimed is not None and time.time() - claimed <= deadlines.LONGER_THAN_ANY_REQUEST
