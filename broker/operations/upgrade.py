"""Upgrades (`cf upgrade-service`): bring an instance and every binding user of it to this release.

Binding users first, each to the current path, boundary, tags and policy template, keeping its
name and access key; then the bucket, whose version tag is written last. So an upgrade that
stops part-way (a deadline, a crash, a refused call) is resumed by the next one: users already
at this release are only read, and the instance stays behind until everything is done. Every
step is idempotent. The state is AWS's, so any broker process can continue an upgrade.
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from dataclasses import replace
from typing import Any

from broker import __version__
from broker.aws import user_state
from broker.aws.buckets import Buckets
from broker.aws.clients import run_concurrently
from broker.aws.users import Users
from broker.errors import InvalidParameters
from broker.model import records
from broker.model.binding_records import config_from_tags, expiry_from_tags
from broker.model.bucket_options import BucketOptions
from broker.model.names import name_tags
from broker.model.parameters import InstanceConfig
from broker.model.records import MAX_TAGS, StoredInstance, instance_tags
from broker.operations.bindings import Bindings
from broker.operations.instances import Instances
from broker.settings import Settings

log = logging.getLogger(__name__)

# The `operation` of an asynchronous upgrade, sent back by the platform to last_operation.
UPGRADE_OPERATION = "upgrade"
# Up to this many binding users are upgraded within the update request itself; more make it asynchronous.
SYNC_MAX_USERS = 10
# Binding users upgraded per last_operation poll of an asynchronous upgrade (about 4 IAM calls each).
USERS_PER_STEP = 20


class Upgrades:
    def __init__(
        self,
        settings: Settings,
        instances: Instances,
        bindings: Bindings,
        buckets: Buckets,
        users: Users,
        pool: Executor,
        version: str = __version__,
    ) -> None:
        self.settings = settings
        self.instances = instances
        self.bindings = bindings
        self.buckets = buckets
        self.users = users
        self.iam = users.iam
        self.pool = pool
        self.version = version

    # --- what is behind ------------------------------------------------------------------------

    def is_current(self, instance_id: str) -> bool:
        return self.instances.read(instance_id).record.version == self.version

    def user_names(self, instance_id: str) -> list[str]:
        """The instance's binding users: those under its path, and those an earlier release left at
        the root path (IAM_USER_PATH without the instance part), found by their instance tag."""
        names = self.users.names_under(self.settings.user_path(instance_id))
        return names + [state.name for state in self.root_path_users() if self._belongs(state, instance_id)]

    def root_path_users(self) -> list[user_state.UserState]:
        """Binding users at IAM_USER_PATH itself: made by releases before per-instance paths (one
        ListUsers call per 1,000 users, then GetUser each, since ListUsers gives no tags)."""
        prefix = self.settings.iam_user_prefix
        names = [name for name in self.users.names_under(self.settings.iam_user_path) if name.startswith(prefix)]
        return [state for name in names if (state := user_state.describe(self.iam, name)) is not None]

    @staticmethod
    def _belongs(state: user_state.UserState, instance_id: str) -> bool:
        return state.tags.get(records.INSTANCE_ID) == instance_id

    # --- upgrading -----------------------------------------------------------------------------

    def start(self, instance_id: str, async_allowed: bool) -> bool:
        """Upgrade the instance; True when it is left to last_operation (many binding users)."""
        names = self.user_names(instance_id)
        if async_allowed and len(names) > SYNC_MAX_USERS:
            self.step(instance_id, USERS_PER_STEP, names)
            log.info("upgrading instance %s with %d binding users asynchronously", instance_id, len(names))
            return True
        self.step(instance_id, None, names)
        return False

    def step(self, instance_id: str, max_users: int | None, names: list[str] | None = None) -> bool:
        """Upgrade up to `max_users` binding users (None: all), then the bucket once every user is
        done; True when the instance is at this release."""
        stored = self.instances.read(instance_id)
        if stored.record.version == self.version:
            return True
        names = self.user_names(instance_id) if names is None else names
        states = [state for name in names if (state := user_state.describe(self.iam, name)) is not None]
        behind = [state for state in states if self._belongs(state, instance_id) and not self._user_current(state)]
        batch = behind if max_users is None else behind[:max_users]
        run_concurrently(self.pool, [lambda state=state: self.upgrade_user(stored, state) for state in batch])
        if len(batch) < len(behind):
            return False
        self.upgrade_bucket(instance_id, stored)
        log.info("upgraded instance %s and %d binding users to %s", instance_id, len(behind), self.version)
        return True

    def _user_current(self, state: user_state.UserState) -> bool:
        # moto does not keep users' boundaries, so the boundary is judged only where IAM reports it.
        return state.tags.get(records.VERSION) == self.version and state.path == self._path_of(state)

    def _path_of(self, state: user_state.UserState) -> str:
        return self.settings.user_path(state.tags[records.INSTANCE_ID])

    def upgrade_user(self, instance: StoredInstance, state: user_state.UserState) -> None:
        """Boundary first (the broker may set a policy only on a user that has it), then path, policy
        and tags; the tag saying this release goes last, so a user is current only when all is done."""
        boundary = self.settings.iam_permissions_boundary_arn
        if boundary and state.boundary_arn != boundary:
            user_state.set_boundary(self.iam, state.name, boundary)
        path = self._path_of(state)
        if state.path != path:
            user_state.move(self.iam, state.name, path)
        document = self._current_policy(instance, state)
        if document is not None:
            self.users.put_policy(state.name, document)
        user_state.tag(self.iam, state.name, {**name_tags(instance.record.names), records.VERSION: self.version})

    def _current_policy(self, instance: StoredInstance, state: user_state.UserState) -> dict[str, Any] | None:
        """The binding's policy from the current template; None to keep the one it has.

        Users made before options were recorded in tags, or whose recorded expiry cannot be read,
        keep theirs: regenerating it without knowing the options could widen the key.
        """
        config = config_from_tags(state.tags)
        if config is None:
            log.warning("IAM user %s records no binding options: its policy is kept as it is", state.name)
            return None
        expiry = expiry_from_tags(state.tags, config.expires_in_days)
        if config.expires_in_days and expiry is None:
            log.warning("IAM user %s has an expiry that cannot be read: its policy is kept as it is", state.name)
            return None
        instances = [instance]
        buckets = [self.settings.bucket_name(instance.record.instance_id)]
        for guid in config.additional_instances:
            # Another instance that is gone or left the org drops out: narrower, never wider.
            other = self.buckets.read(self.settings.bucket_name(guid))
            if other is not None and other.record.org_guid == instance.record.org_guid:
                instances.append(other)
                buckets.append(self.settings.bucket_name(guid))
        try:
            return self.bindings.key_policy(config, buckets, instances, expiry)
        except InvalidParameters:
            log.warning("the current policy of IAM user %s would exceed IAM's limit: its policy is kept", state.name)
            return None

    def upgrade_bucket(self, instance_id: str, stored: StoredInstance) -> None:
        """Every bucket setting set again from the current templates, then the tags with this release."""
        bucket = self.settings.bucket_name(instance_id)
        complete = self.instances.read_complete(instance_id)
        config = upgraded_config(complete.config, had_options_record=bool(stored.options_tag))
        upgraded = replace(complete, config=config, version=self.version)
        if len(instance_tags(upgraded)) > MAX_TAGS:
            raise InvalidParameters(
                f"instance {instance_id} has more tags than S3's {MAX_TAGS} allow with the broker's own: drop "
                "one of your tags (`cf update-service -c '{\"tags\": ...}'`), then upgrade again"
            )
        self.buckets.configure(bucket, None, config, explicit=True)
        self.buckets.write_tags(bucket, upgraded)

    def progress(self, instance_id: str) -> tuple[bool, str]:
        """For last_operation of an asynchronous upgrade: one step, and what to tell the platform."""
        if self.step(instance_id, USERS_PER_STEP):
            return True, f"Instance {instance_id} is upgraded to {self.version}."
        return False, f"Upgrading the keys of instance {instance_id} to {self.version}."


def upgraded_config(config: InstanceConfig, *, had_options_record: bool) -> InstanceConfig:
    """The settings an upgrade gives a bucket: the current defaults where its user could not have chosen.

    A bucket without the options record comes from before TLS-only and object ownership were
    options, so nobody chose for it: it gets today's defaults. Everything else is what was chosen.
    """
    if had_options_record:
        return config
    return replace(config, options=replace(config.options, require_tls=BucketOptions().require_tls))
