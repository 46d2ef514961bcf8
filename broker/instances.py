"""Service instances: provision, update, deprovision and read a bucket, as the contract describes."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from broker import rollback
from broker.buckets import Buckets
from broker.catalog import Catalog
from broker.errors import BadRequest, Conflict, Gone, NotFound
from broker.parameters import InstanceConfig, instance_config_for_create, instance_config_for_update
from broker.records import InstanceRecord, StoredInstance
from broker.settings import Settings

log = logging.getLogger(__name__)


class Instances:
    def __init__(self, settings: Settings, catalog: Catalog, buckets: Buckets) -> None:
        self.settings = settings
        self.catalog = catalog
        self.buckets = buckets

    def provision(self, instance_id: str, plan_id: str, org_guid: str, space_guid: str, parameters: Any) -> bool:
        """Create the instance's bucket; True if created, False if an identical one already exists."""
        plan = self.catalog.plan(plan_id)
        record = InstanceRecord(
            instance_id=instance_id,
            service_id=plan.service_id,
            plan_id=plan.id,
            org_guid=org_guid,
            space_guid=space_guid,
            config=instance_config_for_create(plan, parameters),
        )
        bucket = self.settings.bucket_name(instance_id)
        stored = self.buckets.read_from(self.buckets.create_or_find(bucket))
        if stored is None:  # made just now, or half-made by a provision that failed
            self.buckets.finish(bucket, record)
            log.info("provisioned instance %s as bucket %s", instance_id, bucket)
            return True
        if stored.identity() == record.identity():
            return False
        raise Conflict(
            f"Instance {instance_id} already exists (bucket {bucket}) with other settings. "
            "Use `cf update-service` to change them."
        )

    def update(self, instance_id: str, plan_id: str | None, parameters: Any) -> None:
        bucket = self.settings.bucket_name(instance_id)
        current = self.read_complete(instance_id)
        current_plan = self.catalog.plan(current.plan_id)
        new_plan = self.catalog.plan(plan_id) if plan_id else current_plan
        if new_plan.service_id != current_plan.service_id:
            raise BadRequest(f"plan {new_plan.name!r} belongs to another service than this instance")
        config = instance_config_for_update(current.config, current_plan, new_plan, parameters)
        updated = replace(current, plan_id=new_plan.id, config=config)
        if updated == current:
            return
        try:
            self.buckets.configure(bucket, current.config, config)
            self.buckets.write_tags(bucket, updated)
        except BaseException:
            self._restore(bucket, current, config)
            raise
        log.info("updated instance %s", instance_id)

    def _restore(self, bucket: str, previous: InstanceRecord, attempted: InstanceConfig) -> None:
        """After a failed update, put back what the update may have changed (best effort)."""
        rollback.undo(f"restore bucket {bucket}", lambda: self.buckets.configure(bucket, attempted, previous.config))

    def deprovision(self, instance_id: str) -> None:
        bucket = self.settings.bucket_name(instance_id)
        tags = self.buckets.read_tags(bucket)
        if tags is None:
            raise Gone(f"Instance {instance_id} does not exist (no bucket {bucket}).")
        stored = self.buckets.read_from(tags)
        if stored is not None and stored.record.config.delete_objects:
            deleted = self.buckets.empty(bucket)
            log.info("emptied bucket %s of %d objects and versions", bucket, deleted)
        # S3 itself refuses to delete a bucket that holds any object, version or delete marker:
        # that refusal is the deletion guard, with no listing call before it.
        self.buckets.delete(bucket)
        log.info("deprovisioned instance %s", instance_id)

    def read(self, instance_id: str) -> StoredInstance:
        stored = self.buckets.read(self.settings.bucket_name(instance_id))
        if stored is None:
            raise NotFound(f"Instance {instance_id} does not exist.")
        return stored

    def read_complete(self, instance_id: str) -> InstanceRecord:
        """The instance's record with its CORS rules read from S3 (tags hold only their digest)."""
        stored = self.read(instance_id)
        if not stored.cors_digest:
            return stored.record
        rules = self.buckets.cors_rules(self.settings.bucket_name(instance_id))
        return replace(stored.record, config=replace(stored.record.config, cors_rules=rules))

    def parameters(self, instance_id: str) -> tuple[InstanceRecord, dict[str, Any]]:
        record = self.read_complete(instance_id)
        return record, record.config.as_parameters()
