"""Service instances: provision, update, deprovision and read a bucket, as the contract describes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from broker import __version__, rollback
from broker.aws.buckets import Buckets
from broker.aws.instance_read import tags_and_cors
from broker.aws.not_empty import BucketNotEmpty
from broker.errors import AsyncRequired, BadRequest, Gone, InvalidParameters, NotFound
from broker.model.catalog import Catalog
from broker.model.maintenance import check_offered
from broker.model.names import NO_NAMES, Names
from broker.model.parameters import (
    InstanceConfig,
    check_characters,
    check_kms_key_allowed,
    instance_config_for_create,
    instance_config_for_update,
)
from broker.model.records import (
    MAX_TAGS,
    InstanceRecord,
    StoredInstance,
    carries_broker_mark,
    deleting_since,
    instance_tags,
)
from broker.operations.deletion_fence import being_deleted
from broker.operations.provisioning import Provisioning, not_the_brokers
from broker.operations.user_sweep import Sweep
from broker.settings import Settings

log = logging.getLogger(__name__)

# The `operation` an asynchronous deprovision hands the platform, which sends it back to last_operation.
DEPROVISION_OPERATION = "deprovision"
# The states of an operation, as OSB's last_operation names them.
SUCCEEDED, IN_PROGRESS, FAILED = "succeeded", "in progress", "failed"


class Instances:
    def __init__(
        self, settings: Settings, catalog: Catalog, buckets: Buckets, remove_bindings: Callable[[str], Sweep]
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.buckets = buckets
        self.provisioning = Provisioning(settings, buckets)
        # Deletes the binding users left on an instance, as many as the request's time allows.
        self.remove_bindings = remove_bindings

    def provision(
        self,
        instance_id: str,
        plan_id: str,
        org_guid: str,
        space_guid: str,
        parameters: Any,
        maintenance_version: str | None = None,
        names: Names = NO_NAMES,
    ) -> bool:
        """Create the instance's bucket; True if created, False if an identical one already exists."""
        plan = self.catalog.plan(plan_id)
        check_offered(plan, maintenance_version)
        record = InstanceRecord(
            instance_id=instance_id,
            service_id=plan.service_id,
            plan_id=plan.id,
            org_guid=org_guid,
            space_guid=space_guid,
            config=instance_config_for_create(plan, parameters),
            version=__version__,
            names=names,
        )
        check_kms_key_allowed(record.config.kms_key_arn, self.settings.allowed_kms_key_arns)
        return self.provisioning.settle(record)

    def update(
        self, instance_id: str, plan_id: str | None, parameters: Any, maintenance_version: str | None = None
    ) -> None:
        """Change the bucket's plan or settings; an upgrade (maintenance_info) follows in broker/operations/upgrade."""
        check_characters(parameters)  # bad input is refused before the reads, not only before the writes
        bucket = self.settings.bucket_name(instance_id)
        current = self.read_complete(instance_id, changing=True)
        current_plan = self.catalog.plan(current.plan_id)
        new_plan = self.catalog.plan(plan_id) if plan_id else current_plan
        check_offered(new_plan, maintenance_version)
        if new_plan.service_id != current_plan.service_id:
            raise BadRequest(f"plan {new_plan.name!r} belongs to another service than this instance")
        config = instance_config_for_update(current.config, current_plan, new_plan, parameters)
        if config.kms_key_arn != current.config.kms_key_arn:
            check_kms_key_allowed(config.kms_key_arn, self.settings.allowed_kms_key_arns)
        updated = replace(current, plan_id=new_plan.id, config=config)
        if updated == current:
            return
        if len(instance_tags(updated)) > MAX_TAGS:
            raise InvalidParameters(
                f"the bucket would need {len(instance_tags(updated))} tags, more than S3's {MAX_TAGS}: the broker "
                f"keeps up to 12 of its own, so give at most 38 in 'tags'"
            )
        try:
            self.buckets.configure(bucket, current.config, config)
            # Again right before the write that makes the update stick: the tags it writes would drop
            # the mark of a deletion begun meanwhile (see deletion_fence).
            tags = self.buckets.read_tags(bucket)
            if tags is not None and deleting_since(tags) is None:
                self.buckets.write_tags(bucket, updated)
                log.info("updated instance %s", instance_id)
                return
        except BaseException:
            self._restore(bucket, current, config)
            raise
        if tags is not None:
            self._restore(bucket, current, config)
            # The update may have replaced the rules that expire everything: they go back.
            self.buckets.start_emptying(bucket, tags, deleting_since(tags) or time.time())
        raise being_deleted(instance_id, bucket)

    def _restore(self, bucket: str, previous: InstanceRecord, attempted: InstanceConfig) -> None:
        """After a failed update, put back what the update may have changed (best effort)."""
        rollback.undo(f"restore bucket {bucket}", lambda: self.buckets.configure(bucket, attempted, previous.config))

    def deprovision(self, instance_id: str, async_allowed: bool = False) -> bool:
        """Delete the bucket, then any binding user still left on the instance; True when the bucket is
        left for S3 to empty and `last_operation` to delete (an asynchronous deprovision).

        The platform unbinds before it deprovisions, but a failed unbind, another client or a bind
        racing this request can leave users behind: they go too, so no key outlives its bucket. A
        retry after a failure part-way finishes the job.
        """
        bucket = self.settings.bucket_name(instance_id)
        tags = self.buckets.read_tags(bucket)
        if tags is None:
            sweep = self.remove_bindings(instance_id)
            if sweep.removed or not sweep.finished:
                return self._users_left(instance_id, sweep, async_allowed)
            raise Gone(f"Instance {instance_id} does not exist (no bucket {bucket}).")
        if not carries_broker_mark(tags):
            raise Gone(not_the_brokers(bucket))
        stored = self.buckets.read_from(tags)
        deleting = deleting_since(tags) is not None
        if deleting or (stored is not None and stored.record.config.delete_objects):
            limit = self.settings.deprovision_sync_max_objects
            if deleting or self.buckets.holds_more_than(bucket, limit):
                # A repeat of a deprovision already under way makes progress like last_operation does.
                if deleting and self._delete_once_empty(instance_id, bucket):
                    return self._users_left(instance_id, self.remove_bindings(instance_id), async_allowed)
                if not async_allowed:
                    raise AsyncRequired(
                        f"Bucket {bucket} holds more than {limit} objects (or versions, delete markers or "
                        "unfinished uploads): deleting them takes longer than one request, so the broker deletes them "
                        "asynchronously. Deprovision with accepts_incomplete=true (Cloud Foundry sends it)."
                    )
                started = time.time()
                self.buckets.start_emptying(bucket, tags, started)
                self.remove_bindings(instance_id)  # keys go now; the bucket follows once empty
                # An update that looked just before the mark went on may have written its tags over it.
                now = self.buckets.read_tags(bucket)
                if now is not None and deleting_since(now) is None:
                    self.buckets.start_emptying(bucket, now, started)
                log.info(
                    "deprovisioning instance %s: S3 empties bucket %s, last_operation deletes it", instance_id, bucket
                )
                return True
            deleted = self.buckets.empty(bucket)
            log.info("emptied bucket %s of %d objects and versions", bucket, deleted)
        # S3 itself refuses to delete a bucket that holds any object, version or delete marker:
        # that refusal is the deletion guard, with no listing call before it.
        deleted_bucket = self.buckets.delete(bucket)
        sweep = self.remove_bindings(instance_id)
        if not deleted_bucket and not sweep.removed and sweep.finished:
            raise Gone(f"Instance {instance_id} was deleted by another request meanwhile (no bucket {bucket}).")
        return self._users_left(instance_id, sweep, async_allowed)

    def _users_left(self, instance_id: str, sweep: Sweep, async_allowed: bool) -> bool:
        """The bucket is gone: done (False) once no binding user is left, else asynchronous (True)."""
        if sweep.finished:
            log.info("deprovisioned instance %s", instance_id)
            return False
        if not async_allowed:
            raise AsyncRequired(
                f"Instance {instance_id} has {sweep.left} more binding users to delete than one request can: "
                "deprovision again with accepts_incomplete=true (Cloud Foundry sends it) to finish."
            )
        return True

    def _delete_once_empty(self, instance_id: str, bucket: str) -> bool:
        """One bounded step of emptying, then delete the bucket if that emptied it; True when it is gone."""
        # The same bound as a bucket emptied within a request: what one request can delete quickly.
        self.buckets.empty_some(bucket, self.settings.deprovision_sync_max_objects)
        try:
            deleted = self.buckets.delete(bucket)
        except BucketNotEmpty:
            return False
        if deleted:
            log.info("deprovisioned instance %s: bucket %s emptied and deleted", instance_id, bucket)
        return True

    def deprovision_progress(self, instance_id: str) -> tuple[str, str]:
        """For last_operation of an asynchronous deprovision: the OSB state and what to tell the platform.

        Any broker process may answer: the bucket's tags say it is being emptied. Each poll
        deletes a bounded batch itself and deletes the bucket once it is empty. A bucket that is
        gone is 410 Gone, as the OSB spec asks of a finished asynchronous deprovision.
        """
        bucket = self.settings.bucket_name(instance_id)
        tags = self.buckets.read_tags(bucket)
        if tags is None:
            return self._sweep_progress(instance_id, bucket)
        started = deleting_since(tags)
        if started is None:
            return FAILED, f"Bucket {bucket} is not being deleted: deprovision the instance again."
        if self._delete_once_empty(instance_id, bucket):
            sweep = self.remove_bindings(instance_id)
            if sweep.finished:
                return SUCCEEDED, f"Bucket {bucket} is emptied and deleted."
            return IN_PROGRESS, self._users_left_description(bucket, sweep)
        # Every poll, not only the deprovision: a bind racing it, or IAM's listing lagging behind,
        # may have left a user whose key would keep writing to the bucket.
        self.remove_bindings(instance_id)
        since = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
        return IN_PROGRESS, (
            f"S3 is deleting the objects of bucket {bucket} (lifecycle rules set {since}; expiry can take a few "
            "days on AWS); the broker deletes the bucket once it is empty."
        )

    def _sweep_progress(self, instance_id: str, bucket: str) -> tuple[str, str]:
        """The bucket is gone: delete binding users left; 410 Gone once none is."""
        sweep = self.remove_bindings(instance_id)
        if sweep.finished:
            raise Gone(f"Instance {instance_id} is deleted (no bucket {bucket}).")
        return IN_PROGRESS, self._users_left_description(bucket, sweep)

    @staticmethod
    def _users_left_description(bucket: str, sweep: Sweep) -> str:
        return f"Bucket {bucket} is deleted; the broker is deleting the {sweep.left} binding users left on it."

    def read(self, instance_id: str, *, changing: bool = False) -> StoredInstance:
        """The instance; NotFound if there is none, and for a bucket being deleted, unless `changing`
        it (update, bind), which is then a ConcurrencyError, as the OSB spec has it."""
        bucket = self.settings.bucket_name(instance_id)
        return self._stored(instance_id, bucket, self.buckets.read_tags(bucket), changing=changing)

    def _stored(
        self, instance_id: str, bucket: str, tags: list[dict[str, str]] | None, *, changing: bool
    ) -> StoredInstance:
        if changing and deleting_since(tags) is not None:
            raise being_deleted(instance_id, bucket)
        stored = self.buckets.read_from(tags)
        if stored is None:
            raise NotFound(f"Instance {instance_id} does not exist.")
        return stored

    def read_complete(self, instance_id: str, *, changing: bool = False) -> InstanceRecord:
        """The instance's record with its CORS rules and bulky options read from S3 (tags hold digests).

        CORS rules are read even when the broker set none: a read-write key may set them
        (docs/users.md), and `cf service --params` must show what the bucket does.
        """
        bucket = self.settings.bucket_name(instance_id)
        tags, cors_rules = tags_and_cors(self.buckets, bucket)
        stored = self._stored(instance_id, bucket, tags, changing=changing)
        if isinstance(cors_rules, Exception):
            raise cors_rules
        config = replace(stored.record.config, cors_rules=cors_rules)
        if stored.options_read:
            config = replace(config, options=self.buckets.read_options(bucket, stored))
        return replace(stored.record, config=config)

    def parameters(self, instance_id: str) -> tuple[InstanceRecord, dict[str, Any]]:
        record = self.read_complete(instance_id)
        return record, record.config.as_parameters()
