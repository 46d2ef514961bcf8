"""Bindings and service keys: an IAM user and access key per binding, scoped to the instance's bucket."""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from dataclasses import asdict, dataclass
from typing import Any

from broker import policies, records, rollback
from broker.aws import run_concurrently
from broker.buckets import Buckets
from broker.catalog import Catalog
from broker.credentials import binding_credentials
from broker.errors import Conflict, Gone, InvalidParameters, NotFound
from broker.parameters import BindingConfig, binding_config, fingerprint
from broker.records import StoredInstance
from broker.settings import Settings
from broker.users import AccessKey, UserExists, Users

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BindResult:
    created: bool
    credentials: dict[str, Any]


class Bindings:
    def __init__(self, settings: Settings, catalog: Catalog, buckets: Buckets, users: Users, pool: Executor) -> None:
        self.settings = settings
        self.catalog = catalog
        self.buckets = buckets
        self.users = users
        self.pool = pool

    def bind(self, instance_id: str, binding_id: str, plan_id: str, parameters: Any) -> BindResult:
        """Make (or, for the same request again, renew) the binding's user and a key that works."""
        config = binding_config(self.catalog.plan(plan_id), parameters)
        instance, others = self._read_instances(instance_id, config)
        buckets = [self.settings.bucket_name(instance_id)] + [self.settings.bucket_name(i) for i in others]
        source_cidrs = () if config.allow_external_access else self.settings.allowed_source_cidrs
        document = self._key_policy(config, buckets, [instance, *others.values()], source_cidrs)
        user_name = self.settings.user_name(binding_id)
        digest = fingerprint({"instance_id": instance_id, "plan_id": plan_id, "config": asdict(config)})
        user_arn, created = self._claim_user(user_name, binding_id, instance_id, digest)
        try:
            key = self._give_key(user_name, document, fresh_user=created)
            probes = self.users.wait_until_key_works(
                key,
                buckets[0],
                config.path_prefix or "",
                self.settings.key_propagation_timeout,
                denial_expected=bool(source_cidrs),
            )
        except BaseException:
            rollback.undo(f"delete IAM user {user_name}", lambda: self.users.delete(user_name))
            raise
        log.info(
            "bound %s to instance %s as IAM user %s (key accepted after %d probes)",
            binding_id,
            instance_id,
            user_name,
            probes,
        )
        credentials = binding_credentials(
            key=key,
            bucket=buckets[0],
            region=self.settings.aws_region,
            endpoint=self.settings.s3_endpoint,
            deploy_env=self.settings.deploy_env,
            user_arn=user_arn,
            config=config,
            additional_buckets=buckets[1:],
            external_bucket_policies={
                bucket: policies.external_bucket_policy(
                    bucket, user_arn, read_only=config.read_only, path_prefix=config.path_prefix
                )
                for bucket in config.external_buckets
            },
        )
        return BindResult(created=created, credentials=credentials)

    def _key_policy(
        self,
        config: BindingConfig,
        buckets: list[str],
        instances: list[StoredInstance],
        source_cidrs: tuple[str, ...],
    ) -> dict[str, Any]:
        document = policies.user_policy(
            buckets + list(config.external_buckets),
            read_only=config.read_only,
            path_prefix=config.path_prefix,
            kms_key_arns=[arn for s in instances if (arn := s.record.config.kms_key_arn)],
            allowed_source_cidrs=source_cidrs,
        )
        if not policies.fits_user_policy_limit(document):
            raise InvalidParameters(
                "the key's policy would exceed AWS's 2,048-character limit: ask for fewer "
                "additional_instances or external_buckets"
            )
        return document

    def _claim_user(self, user_name: str, binding_id: str, instance_id: str, digest: str) -> tuple[str, bool]:
        """Create the binding's user; or, if this very request made it before, take it over.

        Returns the user's ARN and whether it was created now.
        """
        tags = {records.INSTANCE_ID: instance_id, records.BINDING_ID: binding_id, records.BINDING_DIGEST: digest}
        try:
            return self.users.create(user_name, tags), True
        except UserExists:
            user_arn, existing_tags = self.users.read(user_name)
        if existing_tags.get(records.BINDING_DIGEST) != digest:
            raise Conflict(
                f"Binding {binding_id} already exists with other parameters. "
                "Unbind it (or delete the service key) first."
            )
        return user_arn, False

    def _give_key(self, user_name: str, document: dict[str, Any], *, fresh_user: bool) -> AccessKey:
        """Set the user's policy and make its key at once; a repeated bind first drops the old keys."""
        if not fresh_user:
            self.users.delete_keys(user_name)
        made: list[AccessKey] = []
        run_concurrently(
            self.pool,
            [lambda: self.users.put_policy(user_name, document), lambda: made.append(self.users.new_key(user_name))],
        )
        return made[0]

    def _read_instances(
        self, instance_id: str, config: BindingConfig
    ) -> tuple[StoredInstance, dict[str, StoredInstance]]:
        """The bound instance and the additional ones, read at once; all must exist, all in one org."""
        wanted = [instance_id, *config.additional_instances]
        found: dict[str, StoredInstance | None] = {}

        def read(guid: str) -> None:
            found[guid] = self.buckets.read(self.settings.bucket_name(guid))

        run_concurrently(self.pool, [lambda guid=guid: read(guid) for guid in wanted])
        instance = found[instance_id]
        if instance is None:
            raise NotFound(f"Instance {instance_id} does not exist, so it cannot be bound.")
        others: dict[str, StoredInstance] = {}
        for guid in config.additional_instances:
            other = found[guid]
            if other is None or other.record.org_guid != instance.record.org_guid:
                raise InvalidParameters(
                    f"additional_instances: {guid} is not an instance of this broker in the same org as {instance_id}"
                )
            others[guid] = other
        return instance, others

    def unbind(self, binding_id: str) -> None:
        user_name = self.settings.user_name(binding_id)
        if not self.users.delete(user_name):
            raise Gone(f"Binding {binding_id} does not exist (no IAM user {user_name}).")
        log.info("unbound %s", binding_id)

    def exists(self, binding_id: str) -> bool:
        try:
            self.users.read(self.settings.user_name(binding_id))
        except NotFound:
            return False
        return True
