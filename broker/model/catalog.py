"""catalog.yml -> the OSB catalog, and the plan facts and parameter schemas the broker acts on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from openbrokerapi.catalog import ServicePlan
from openbrokerapi.service_broker import Service

from broker import __version__
from broker.errors import BadRequest

BROKER_ONLY_PREFIX = "x-"  # keys the broker reads but never publishes


class CatalogError(ValueError):
    """catalog.yml is not usable; the broker must not start."""


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    service_id: str
    always_public: bool
    public_by_default: bool
    instance_create_schema: dict[str, Any]
    instance_update_schema: dict[str, Any]
    binding_create_schema: dict[str, Any]
    binding_rotatable: bool = False
    # OSB maintenance_info ({version, description}) as published; None when the plan has none.
    maintenance_info: dict[str, str] | None = None

    @property
    def maintenance_version(self) -> str | None:
        return self.maintenance_info["version"] if self.maintenance_info else None


@dataclass(frozen=True)
class Catalog:
    services: list[Service]
    plans: dict[str, Plan]
    service_ids: frozenset[str]

    def plan(self, plan_id: str) -> Plan:
        try:
            return self.plans[plan_id]
        except KeyError:
            raise BadRequest(f"plan_id {plan_id!r} is not in this broker's catalog") from None


def _published(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if not key.startswith(BROKER_ONLY_PREFIX)}


def _schema(plan: dict[str, Any], *path: str) -> dict[str, Any]:
    node: Any = plan.get("schemas", {})
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        raise CatalogError(f"plan {plan.get('name')!r} has no schemas.{'.'.join(path)}")
    return node


def _maintenance_info(entry: dict[str, Any]) -> dict[str, str] | None:
    """The plan's maintenance_info with the broker's own version filled in (the one version the project has)."""
    given = entry.get("maintenance_info")
    if given is None:
        return None
    if not isinstance(given, dict) or set(given) - {"version", "description"}:
        raise CatalogError(f"plan {entry.get('name')!r}: maintenance_info may hold only a description")
    if given.get("version", __version__) != __version__:
        raise CatalogError(
            f"plan {entry.get('name')!r}: maintenance_info.version is the broker's own ({__version__}); leave it out"
        )
    info = {"version": __version__}
    if given.get("description"):
        info["description"] = str(given["description"]).strip()
    return info


def _plan(service_id: str, entry: dict[str, Any]) -> Plan:
    create = _schema(entry, "service_instance", "create", "parameters")
    public_enum = create.get("properties", {}).get("public_bucket", {}).get("enum")
    return Plan(
        id=str(entry["id"]),
        name=str(entry["name"]),
        service_id=service_id,
        always_public=public_enum == [True],
        public_by_default=bool(entry.get("x-public-bucket", False)),
        instance_create_schema=create,
        instance_update_schema=_schema(entry, "service_instance", "update", "parameters"),
        binding_create_schema=_schema(entry, "service_binding", "create", "parameters"),
        binding_rotatable=entry.get("binding_rotatable") is True,
        maintenance_info=_maintenance_info(entry),
    )


def parse_catalog(document: dict[str, Any]) -> Catalog:
    services: list[Service] = []
    plans: dict[str, Plan] = {}
    for service_entry in document.get("services") or []:
        service_id = str(service_entry["id"])
        plan_entries = service_entry.get("plans") or []
        published_plans = []
        for plan_entry in plan_entries:
            plan = _plan(service_id, plan_entry)
            if plan.id in plans:
                raise CatalogError(f"plan id {plan.id} is used twice")
            plans[plan.id] = plan
            published = _published(plan_entry)
            if plan.maintenance_info:
                published["maintenance_info"] = plan.maintenance_info
            published_plans.append(ServicePlan(**published))
        fields = _published(service_entry)
        # The release serving the catalog, read from the one place it is written (broker/__init__.py).
        fields["metadata"] = {**(fields.get("metadata") or {}), "brokerVersion": __version__}
        fields["plans"] = published_plans
        services.append(Service(**fields))
    if not plans:
        raise CatalogError("the catalog has no plans")
    return Catalog(services=services, plans=plans, service_ids=frozenset(s.id for s in services))


def load_catalog(path: Path) -> Catalog:
    try:
        # libyaml's parser when PyYAML has it: the pure-Python one took about 25 ms of each worker's start.
        document = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as error:
        raise CatalogError(f"cannot read catalog {path}: {error}") from None
    return parse_catalog(document)
