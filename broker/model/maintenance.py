"""OSB maintenance_info: which release an instance is at, and which a request may ask for.

The Cloud Controller shows "upgrade available" when an instance's version differs from its
plan's (a plain string comparison), and `cf upgrade-service` sends an update carrying the plan's
maintenance_info. Pure functions: no AWS, no Flask.
"""

from __future__ import annotations

from typing import Any

from broker.errors import BadRequest, Unprocessable
from broker.model.catalog import Plan

# A semver string is short; anything longer is not a version this broker ever published.
VERSION_MAX = 64


class MaintenanceInfoConflict(Unprocessable):
    """The request names a maintenance_info the plan does not offer (OSB: 422 MaintenanceInfoConflict)."""

    error = "MaintenanceInfoConflict"


def requested_version(body: Any) -> str | None:
    """The `maintenance_info.version` a provision or update asks for; None when it asks for none."""
    info = body.get("maintenance_info") if isinstance(body, dict) else None
    if info is None:
        return None
    if not isinstance(info, dict) or not isinstance(info.get("version"), str):
        raise BadRequest('maintenance_info must be an object with a "version" string, as the catalog gives it.')
    version = info["version"]
    if not version or len(version) > VERSION_MAX:
        raise BadRequest(f"maintenance_info.version must be 1 to {VERSION_MAX} characters.")
    return version


def check_offered(plan: Plan, version: str | None) -> None:
    """Refuse a maintenance_info version the plan does not offer; no version asked for is fine."""
    if version is None or version == plan.maintenance_version:
        return
    offered = f"it offers {plan.maintenance_version}" if plan.maintenance_version else "it offers none"
    raise MaintenanceInfoConflict(
        f"maintenance_info version {version[:VERSION_MAX]!r} is not offered by plan {plan.name!r} ({offered}). "
        "The platform's copy of the catalog is out of date: update the service broker "
        "(`cf update-service-broker`) and try again."
    )


def is_behind(instance_version: str | None, plan: Plan) -> bool:
    """Whether an upgrade would change the instance; one from before versions (None) is always behind."""
    return plan.maintenance_version is not None and instance_version != plan.maintenance_version


def instance_maintenance_info(instance_version: str | None) -> dict[str, str] | None:
    """What GET instance says of the instance's release ({version}, as the Cloud Controller stores it
    after an upgrade); None for an instance that recorded none."""
    return {"version": instance_version} if instance_version else None
