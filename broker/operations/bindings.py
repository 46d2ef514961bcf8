"""Bindings and service keys: an IAM user and access key per binding, scoped to the instance's bucket.

Identical binds may run at once (the Cloud Controller retries, several broker processes serve),
so a request deletes only what it made itself, and never a key that another request may still
be about to hand out.
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from broker.aws.buckets import Buckets
from broker.aws.clients import run_concurrently
from broker.aws.users import UserExists, Users
from broker.errors import BrokerError, ConcurrencyError, Conflict, Gone, InvalidParameters, NotFound
from broker.model import records
from broker.model.access_keys import AccessKey
from broker.model.binding_records import expiry_from_tags, user_tags
from broker.model.catalog import Catalog
from broker.model.credentials import binding_credentials
from broker.model.expiry import Expiry
from broker.model.names import NO_NAMES, Names
from broker.model.parameters import BindingConfig, binding_config, fingerprint
from broker.model.records import StoredInstance
from broker.model.s3_configuration import website_url
from broker.operations import deletion_fence, external_access, rotation
from broker.operations.binding_keys import BindingKeys
from broker.operations.binding_limits import BindingLimits
from broker.operations.user_sweep import Sweep, sweep_users
from broker.policy import documents
from broker.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BindResult:
    created: bool
    credentials: dict[str, Any]
    # OSB binding metadata (expires_at, renew_before); None for a key that does not expire.
    metadata: dict[str, str] | None = None


class Bindings:
    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        buckets: Buckets,
        users: Users,
        pool: Executor,
        *,
        own_account: str,
        key_in_flight_seconds: float,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.buckets = buckets
        self.users = users
        self.pool = pool
        self.own_account = own_account
        self.keys = BindingKeys(users, pool, key_in_flight_seconds, settings.key_propagation_timeout)
        self.limits = BindingLimits(users, settings)

    def bind(
        self,
        instance_id: str,
        binding_id: str,
        plan_id: str,
        parameters: Any,
        context_org: str | None = None,
        predecessor_binding_id: str | None = None,
        names: Names = NO_NAMES,
    ) -> BindResult:
        """Make (or, for the same request again, renew) the binding's user and a key that works.

        With `predecessor_binding_id` (OSB 2.17 rotation) the options are the predecessor's. The
        user's name tags are the instance's, with those the bind's context gives (org, space).
        """
        plan = self.catalog.plan(plan_id)
        config = binding_config(plan, parameters)
        if predecessor_binding_id is not None:
            config = rotation.predecessor_config(
                self.users,
                self.settings.user_name(predecessor_binding_id),
                instance_id=instance_id,
                binding_id=binding_id,
                plan=plan,
                predecessor_id=predecessor_binding_id,
                parameters=parameters,
            )
        external_access.check_buckets(self.settings, config)
        instance, others = self._read_instances(instance_id, config, context_org)
        buckets = [self.settings.bucket_name(instance_id)] + [self.settings.bucket_name(i) for i in others]
        instances = [instance, *others.values()]
        expiry = Expiry.after(datetime.now(UTC), config.expires_in_days) if config.expires_in_days else None
        document = self.key_policy(config, buckets, instances, expiry, context_org)
        user_name = self.settings.user_name(binding_id)
        # The digest holds the asked-for lifetime, not the computed time: a retry is the same request.
        digest = fingerprint({"instance_id": instance_id, "plan_id": plan_id, "config": asdict(config)})
        tags = user_tags(instance_id, binding_id, digest, config, expiry, instance.record.names.merged(names))
        user_arn, created, existing_tags = self._claim_user(user_name, binding_id, instance_id, tags)
        if not created and expiry:
            # A repeat keeps the expiry the binding got when it was made (same length, so the size check holds).
            expiry = expiry_from_tags(existing_tags, config.expires_in_days) or expiry
            document = self.key_policy(config, buckets, instances, expiry, context_org)
        denial_expected = self._restricted_to_platform(config) or config.write_only
        made: list[AccessKey] = []
        try:
            # The limits count the users with the new one in (concurrent binds too), while its key is made:
            # past a limit, that key is taken back with the user before anything is handed out.
            checks = (lambda: self.limits.check_new_user(instance_id),) if created else ()
            self.keys.give(user_name, binding_id, document, fresh_user=created, made=made, checks=checks)
            probes: list[int] = []

            def probe() -> None:
                prefix = config.path_prefix or ""
                probes.append(
                    self.keys.wait_until_works(made[0], user_name, binding_id, buckets[0], prefix, denial_expected)
                )

            deletion_fence.check_before_handing_out(self.buckets, buckets[0], instance_id, self.pool, probe)
        except BaseException:
            self.keys.roll_back(user_name, made, created_user=created)
            raise
        log.info(
            "bound %s to instance %s as IAM user %s (key accepted after %d probes)",
            binding_id,
            instance_id,
            user_name,
            probes[0],
        )
        credentials = binding_credentials(
            key=made[0],
            bucket=buckets[0],
            region=self.settings.aws_region,
            endpoint=self.settings.s3_endpoint,
            deploy_env=self.settings.deploy_env,
            user_arn=user_arn,
            config=config,
            additional_buckets=buckets[1:],
            external_bucket_policies={
                bucket: documents.external_bucket_policy(
                    bucket,
                    user_arn,
                    read_only=config.read_only,
                    write_only=config.write_only,
                    path_prefix=config.path_prefix,
                    partition=self.settings.partition,
                )
                for bucket in config.external_buckets
            },
        )
        if "website" in instance.options_read:
            website = website_url(buckets[0], self.settings.aws_region, self.settings.aws_endpoint_url)
            if website:
                credentials["website_endpoint"] = website
        return BindResult(created=created, credentials=credentials, metadata=expiry.metadata() if expiry else None)

    def _platform_limits(self, config: BindingConfig) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The address ranges and VPC endpoints the key is limited to (none with allow_external_access)."""
        if config.allow_external_access:
            return (), ()
        return self.settings.allowed_source_cidrs, self.settings.allowed_vpc_endpoint_ids

    def _restricted_to_platform(self, config: BindingConfig) -> bool:
        return any(self._platform_limits(config))

    def key_policy(
        self,
        config: BindingConfig,
        buckets: list[str],
        instances: list[StoredInstance],
        expiry: Expiry | None,
        context_org: str | None = None,
    ) -> dict[str, Any]:
        """The key's policy; `instances[0]` is the bound one, `context_org` the org the binding is made in."""
        source_cidrs, vpc_endpoints = self._platform_limits(config)
        accounts = external_access.accounts_for(self.settings, config, instances[0], context_org)
        document = documents.user_policy(
            buckets,
            read_only=config.read_only,
            write_only=config.write_only,
            path_prefix=config.path_prefix,
            external_buckets=config.external_buckets,
            external_accounts=accounts,
            own_account=self.own_account,
            kms_key_arns=[arn for s in instances if (arn := s.record.config.kms_key_arn)],
            s3_service=self.settings.s3_service_name,
            allowed_source_cidrs=source_cidrs,
            allowed_vpc_endpoints=vpc_endpoints,
            expires_at=expiry.iam_time if expiry else None,
            partition=self.settings.partition,
        )
        if not documents.fits_user_policy_limit(document):
            raise InvalidParameters(
                "the key's policy would exceed AWS's 2,048-character limit: ask for fewer "
                "additional_instances or external_buckets"
            )
        return document

    def _claim_user(
        self, user_name: str, binding_id: str, instance_id: str, tags: dict[str, str]
    ) -> tuple[str, bool, dict[str, str]]:
        """Create the binding's user, its options recorded in its tags; or, if this very request made it
        before, take it over.

        Returns the user's ARN, whether it was created now, and its tags.
        """
        try:
            return self.users.create(user_name, self.settings.user_path(instance_id), tags), True, tags
        except UserExists:
            pass
        try:
            user_arn, existing_tags = self.users.read(user_name)
        except NotFound:
            raise ConcurrencyError(
                f"Binding {binding_id} was being deleted while this bind ran. Try the bind again."
            ) from None
        if existing_tags.get(records.BINDING_ID) not in (None, binding_id):
            raise Conflict(
                f"Binding {binding_id} would share IAM user {user_name} with binding "
                f"{existing_tags[records.BINDING_ID]}: IAM user names ignore case. Use another binding id."
            )
        if existing_tags.get(records.BINDING_DIGEST) != tags[records.BINDING_DIGEST]:
            raise Conflict(
                f"Binding {binding_id} already exists with other parameters. "
                "Unbind it (or delete the service key) first."
            )
        return user_arn, False, existing_tags

    def _read_instances(
        self, instance_id: str, config: BindingConfig, context_org: str | None
    ) -> tuple[StoredInstance, dict[str, StoredInstance]]:
        """The bound instance and the additional ones, read at once.

        Every additional instance must belong to the bound instance's org and to the org the
        binding is made in (its context): an instance shared into another org must not open the
        door to the unshared instances of its home org.
        """
        wanted = [instance_id, *config.additional_instances]
        found: dict[str, StoredInstance | None] = {}

        def read(guid: str) -> None:
            found[guid] = self.buckets.read(self.settings.bucket_name(guid))

        run_concurrently(self.pool, [lambda guid=guid: read(guid) for guid in wanted])
        instance = found[instance_id]
        if instance is None:  # 422 while a deletion runs, 404 after
            deletion_fence.refuse_if_being_deleted(self.buckets, self.settings.bucket_name(instance_id), instance_id)
            raise NotFound(f"Instance {instance_id} does not exist, so it cannot be bound.")
        if config.additional_instances and not context_org:
            raise InvalidParameters(
                "additional_instances needs the org of the binding: the platform must send context.organization_guid"
            )
        others: dict[str, StoredInstance] = {}
        for guid in config.additional_instances:
            other = found[guid]
            org = other.record.org_guid if other else None
            if org is None or org != instance.record.org_guid or org != context_org:
                raise InvalidParameters(
                    f"additional_instances: {guid} is not an instance of this broker in the org of {instance_id} "
                    "and of this binding. Give the GUID of an instance of your own org (`cf service NAME --guid`)."
                )
            others[guid] = other  # type: ignore[assignment]
        return instance, others

    def unbind(self, instance_id: str, binding_id: str) -> None:
        user_name = self.settings.user_name(binding_id)
        if not self.users.delete(user_name, check=partial(self._check_belongs, instance_id, binding_id, Gone)):
            raise Gone(f"Binding {binding_id} does not exist (no IAM user {user_name}).")
        log.info("unbound %s", binding_id)

    def exists(self, instance_id: str, binding_id: str) -> bool:
        try:
            self._check_belongs(instance_id, binding_id, NotFound)
        except NotFound:
            return False
        return True

    def _check_belongs(self, instance_id: str, binding_id: str, missing: type[BrokerError]) -> None:
        """The binding exists and belongs to this instance; otherwise raise `missing` (410 or 404)."""
        user_name = self.settings.user_name(binding_id)
        try:
            _arn, tags = self.users.read(user_name)
        except NotFound:
            raise missing(f"Binding {binding_id} does not exist (no IAM user {user_name}).") from None
        if tags.get(records.BINDING_ID) not in (None, binding_id):  # the same name but another case
            raise missing(f"Binding {binding_id} does not exist (IAM user {user_name} is another binding's).")
        if tags.get(records.INSTANCE_ID) != instance_id:
            raise missing(f"Binding {binding_id} does not belong to instance {instance_id}.")

    def remove_all_of(self, instance_id: str) -> Sweep:
        """Delete the binding users left under an instance (its bucket is gone), as many as time allows."""
        return sweep_users(self.users, self.pool, self.settings.user_path(instance_id), instance_id)
