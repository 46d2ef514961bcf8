"""The OSB layer: each openbrokerapi call becomes one operation, and its result an OSB response."""

from __future__ import annotations

from typing import Any

from openbrokerapi.service_broker import (
    BindDetails,
    Binding,
    BindState,
    DeprovisionDetails,
    DeprovisionServiceSpec,
    GetBindingSpec,
    GetInstanceDetailsSpec,
    LastOperation,
    OperationState,
    ProvisionDetails,
    ProvisionedServiceSpec,
    ProvisionState,
    Service,
    ServiceBroker,
    UnbindDetails,
    UnbindSpec,
    UpdateDetails,
    UpdateServiceSpec,
)

from broker.errors import NotFound, NotOffered
from broker.http import osb_fields
from broker.http.maintenance_fields import answer_with_maintenance_info, requested_maintenance_version
from broker.model.catalog import Catalog
from broker.model.maintenance import instance_maintenance_info
from broker.model.names import names_from_context
from broker.model.s3_configuration import website_url
from broker.operations.bindings import Bindings
from broker.operations.instances import DEPROVISION_OPERATION, Instances
from broker.operations.names import NameRefresh
from broker.operations.upgrade import UPGRADE_OPERATION, Upgrades


class S3ServiceBroker(ServiceBroker):
    """Synchronous, except the deprovision of a bucket too big to empty within a request."""

    def __init__(
        self, catalog: Catalog, instances: Instances, bindings: Bindings, upgrades: Upgrades, names: NameRefresh
    ) -> None:
        self._catalog = catalog
        self.instances = instances
        self.bindings = bindings
        self.upgrades = upgrades
        self.names = names

    def catalog(self) -> list[Service]:
        return self._catalog.services

    def provision(
        self, instance_id: str, details: ProvisionDetails, async_allowed: bool, **kwargs: Any
    ) -> ProvisionedServiceSpec:
        created = self.instances.provision(
            instance_id,
            details.plan_id,
            details.organization_guid,
            details.space_guid,
            details.parameters,
            maintenance_version=requested_maintenance_version(),
            names=names_from_context(details.context),
        )
        state = ProvisionState.SUCCESSFUL_CREATED if created else ProvisionState.IDENTICAL_ALREADY_EXISTS
        return ProvisionedServiceSpec(state=state)

    def update(self, instance_id: str, details: UpdateDetails, async_allowed: bool, **kwargs: Any) -> UpdateServiceSpec:
        version = requested_maintenance_version()
        names = names_from_context(details.context)
        self.instances.update(instance_id, details.plan_id, details.parameters, maintenance_version=version)
        # After the update, which refuses bad input first; a rename sends an update with only context.
        if not names.empty:
            self.names.refresh(instance_id, names)
        # The plan's maintenance_info (what `cf upgrade-service` sends, and a plan change too): an upgrade.
        upgrading = version is not None and not self.upgrades.is_current(instance_id)
        if upgrading and self.upgrades.start(instance_id, async_allowed):
            return UpdateServiceSpec(is_async=True, operation=UPGRADE_OPERATION)
        return UpdateServiceSpec(is_async=False)

    def deprovision(
        self, instance_id: str, details: DeprovisionDetails, async_allowed: bool, **kwargs: Any
    ) -> DeprovisionServiceSpec:
        if self.instances.deprovision(instance_id, async_allowed):
            return DeprovisionServiceSpec(is_async=True, operation=DEPROVISION_OPERATION)
        return DeprovisionServiceSpec(is_async=False)

    def get_instance(self, instance_id: str, **kwargs: Any) -> GetInstanceDetailsSpec:
        record, parameters = self.instances.parameters(instance_id)
        if record.config.options.website:
            settings = self.instances.settings
            bucket = settings.bucket_name(instance_id)
            endpoint = website_url(bucket, settings.aws_region, settings.aws_endpoint_url)
            if endpoint:  # shown, not a parameter one can give
                parameters["website_endpoint"] = endpoint
        maintenance_info = instance_maintenance_info(record.version)
        if maintenance_info:
            answer_with_maintenance_info(maintenance_info)
        return GetInstanceDetailsSpec(service_id=record.service_id, plan_id=record.plan_id, parameters=parameters)

    def last_operation(self, instance_id: str, operation_data: str | None, **kwargs: Any) -> LastOperation:
        if operation_data == DEPROVISION_OPERATION:
            state, description = self.instances.deprovision_progress(instance_id)
            return LastOperation(OperationState(state), description)
        if operation_data == UPGRADE_OPERATION:
            done, description = self.upgrades.progress(instance_id)
            return LastOperation(OperationState.SUCCEEDED if done else OperationState.IN_PROGRESS, description)
        # Provision, update: always synchronous, so an instance that exists has succeeded.
        self.instances.read(instance_id)
        return LastOperation(OperationState.SUCCEEDED, "The bucket is ready.")

    def bind(
        self, instance_id: str, binding_id: str, details: BindDetails, async_allowed: bool, **kwargs: Any
    ) -> Binding:
        context_org = (details.context or {}).get("organization_guid")
        names = names_from_context(details.context)
        result = self.bindings.bind(
            instance_id,
            binding_id,
            details.plan_id,
            details.parameters,
            context_org,
            predecessor_binding_id=osb_fields.predecessor_binding_id(),
            names=names,
        )
        # An org or space rename reaches the broker with the next bind (the platform sends no update).
        if not names.empty:
            self.names.refresh(instance_id, names)
        if result.metadata:
            osb_fields.answer_with_metadata(result.metadata)
        state = BindState.SUCCESSFUL_BOUND if result.created else BindState.IDENTICAL_ALREADY_EXISTS
        return Binding(state=state, credentials=result.credentials)

    def unbind(
        self, instance_id: str, binding_id: str, details: UnbindDetails, async_allowed: bool, **kwargs: Any
    ) -> UnbindSpec:
        self.bindings.unbind(instance_id, binding_id)
        return UnbindSpec(is_async=False)

    def get_binding(self, instance_id: str, binding_id: str, **kwargs: Any) -> GetBindingSpec:
        # Credentials are handed out once, when the binding is made; the catalog says
        # bindings_retrievable: false, so a platform should not ask.
        raise NotOffered("This broker does not serve bindings back: their credentials are returned only when made.")

    def last_binding_operation(
        self, instance_id: str, binding_id: str, operation_data: str | None, **kwargs: Any
    ) -> LastOperation:
        if not self.bindings.exists(instance_id, binding_id):
            raise NotFound(f"Binding {binding_id} of instance {instance_id} does not exist.")
        return LastOperation(OperationState.SUCCEEDED, "The credentials are ready.")
