"""The cf stand-in's service commands (testing/cf_emulator.py): create, update and delete an
instance, bind and unbind an app, create and delete a service key. Each sends what the Cloud
Controller v3 sends (testing/cloud_controller.py) and returns the lines cf v8 prints."""

from __future__ import annotations

import uuid
from typing import Any

from testing import cloud_controller as cc
from testing.cc_jobs import CfError, orphan, set_operation
from testing.cf_platform import (
    SPACE,
    USER,
    USER_GUID,
    WHERE,
    Platform,
    busy,
    confirm,
    ids_of,
    in_progress,
    parameters,
    waiting,
)


def create_service(p: Platform, service_name: str, plan_name: str, name: str) -> list[str]:
    lines = [f"Creating service instance {name} {WHERE}", ""]
    service = p.service(service_name)
    plan = p.plan(service, plan_name)
    old = p.state.data["instances"].get(name)
    if old and (old["last_operation"]["type"], old["last_operation"]["state"]) != ("create", "failed"):
        return [*lines, "OK", "", f"Service instance {name} already exists"]
    if old:  # a failed create of the same name: CC drops it and cleans up at the broker (precursor)
        orphan(p.broker, p.state, f"/v2/service_instances/{old['guid']}", ids_of(old))
    guid = str(uuid.uuid4())
    instance = {"name": name, "guid": guid, "service_id": service["id"], "plan_id": plan["id"]}
    instance["maintenance_info"] = plan.get("maintenance_info")
    p.state.data["instances"][name] = instance
    body = cc.provision_body(ids_of(instance), SPACE, name, parameters(p.options.c), plan.get("maintenance_info"))
    answer = p.broker.put(f"/v2/service_instances/{guid}", body, USER_GUID)
    waiting(p, lines)
    accepted = answer.status in (200, 201, 202) and cc.well_formed("provision", answer)
    if accepted and answer.status == 202:
        if p.settle("create", instance, answer) == "in progress":
            return [*lines, in_progress("Create", name), "OK", ""]
    elif not accepted:
        if cc.needs_orphan_mitigation("provision", answer):
            orphan(p.broker, p.state, f"/v2/service_instances/{guid}", ids_of(instance))
        set_operation(instance, "create", "failed", cc.failure(answer))
        raise CfError(f"provision could not be completed: {cc.failure(answer)}", job=True)
    set_operation(instance, "create", "succeeded")
    return [*lines, f"Service instance {name} created.", "OK", ""]


def update_service(p: Platform, name: str) -> list[str]:
    if p.options.p is None and p.options.c is None:
        return ["No flags specified. No changes were made.", "OK", ""]
    instance = p.state.instance(name)
    plans = p.plans()
    service = next(s for s in p.catalog if s["id"] == instance["service_id"])
    plan = p.plan(service, p.options.p) if p.options.p else plans[instance["plan_id"]]
    given = parameters(p.options.c)
    lines = [f"Updating service instance {name} {WHERE}", ""]
    if plan["id"] == instance["plan_id"] and given is None:  # nothing for the broker: CC does not call it
        return [*lines, "No changes were made.", "OK", ""]
    maintenance = plan.get("maintenance_info") if plan["id"] != instance["plan_id"] else None
    waiting(p, lines)
    if send_update(p, name, instance, plan, given, maintenance) == "in progress":
        return [*lines, in_progress("Update", name), "OK", ""]
    return [*lines, f"Update of service instance {name} complete.", "OK", ""]


def send_update(
    p: Platform, name: str, instance: dict[str, Any], plan: dict[str, Any], given: Any, maintenance: Any
) -> str:
    """The PATCH CC sends: 'succeeded' or 'in progress', or CfError. Once it succeeds the instance has
    the plan and the maintenance_info version (CC keeps them as proposed changes until then)."""
    busy(name, instance)
    ids = {"service_id": instance["service_id"], "plan_id": plan["id"]}
    body = cc.update_body(ids, instance, SPACE, name, given, maintenance)
    answer = p.broker.patch(f"/v2/service_instances/{instance['guid']}", body, USER_GUID)
    version = {"version": maintenance["version"]} if maintenance else instance.get("maintenance_info")
    adopted = {"plan_id": plan["id"], "maintenance_info": version}
    if answer.status == 202:
        return p.settle("update", instance, answer, adopt=adopted)
    if answer.status != 200:
        set_operation(instance, "update", "failed", cc.failure(answer))
        raise CfError(f"update could not be completed: {cc.failure(answer)}", job=True)
    instance.update(adopted)
    set_operation(instance, "update", "succeeded")
    return "succeeded"


def delete_service(p: Platform, name: str) -> list[str]:
    """CC v3 unbinds every app binding, then every service key, then deprovisions (it does not refuse)."""
    if not p.options.f:
        print(
            "This action impacts all resources scoped to this service instance, including service bindings, "
            "service keys and route bindings.\nThis will remove the service instance from any spaces where it has "
            "been shared."
        )
        if not confirm(f"Really delete the service instance {name}?"):
            return ["Delete cancelled", ""]
    if name not in p.state.data["instances"]:
        return [f"Service instance {name} did not exist.", "OK", ""]
    lines = [f"Deleting service instance {name} {WHERE}", ""]
    instance = p.state.instance(name)
    busy(name, instance)
    for binding in sorted(p.state.bindings_of(name), key=lambda b: b["app"] is None):  # apps first, then keys
        if unbind(p, instance, binding) == "in progress":
            raise CfError(
                f"delete could not be completed: An operation for service binding {binding['guid']} is in progress.",
                job=True,
            )
    answer = p.broker.delete(f"/v2/service_instances/{instance['guid']}", ids_of(instance), USER_GUID)
    waiting(p, lines)
    if answer.status == 202:
        if p.settle("delete", instance, answer) == "in progress":
            return [*lines, in_progress("Delete", name), "OK", ""]
    elif answer.status not in (200, 410):  # 410: already gone, which is what was asked
        set_operation(instance, "delete", "failed", cc.failure(answer))
        raise CfError(f"delete could not be completed: Service instance {name}: {cc.failure(answer)}", job=True)
    p.state.data["instances"].pop(name, None)
    return [*lines, f"Service instance {name} deleted.", "OK", ""]


def unbind(p: Platform, instance: dict[str, Any], binding: dict[str, Any]) -> str:
    """One unbind as CC sends it; 'succeeded' or 'in progress', or CfError."""
    path = f"/v2/service_instances/{instance['guid']}/service_bindings/{binding['guid']}"
    answer = p.broker.delete(path, ids_of(instance), USER_GUID)
    if answer.status == 202:
        return p.settle("unbind", instance, answer, binding)
    if answer.status not in (200, 410):
        set_operation(binding, "unbind", "failed", cc.failure(answer))
        raise CfError(f"unbind could not be completed: {cc.failure(answer)}", job=True)
    p.state.data["bindings"].pop(binding["binding_key"], None)
    return "succeeded"


def bind(p: Platform, name: str, key: str | None, app: str | None) -> str:
    """A binding (an app's, or a service key when `key` is given) as CC makes it: 'succeeded' or 'in progress'."""
    instance = p.state.instance(name)
    busy(name, instance)
    guid = str(uuid.uuid4())
    app_guid = str(uuid.uuid5(uuid.NAMESPACE_DNS, app)) if app else None
    binding = {"guid": guid, "instance": name, "name": key, "app": app, "binding_key": f"{name}/{key or app}"}
    path = f"/v2/service_instances/{instance['guid']}/service_bindings/{guid}"
    body = cc.bind_body(ids_of(instance), SPACE, parameters(p.options.c), app_guid)
    answer = p.broker.put(path, body, USER_GUID)
    p.state.data["bindings"][binding["binding_key"]] = binding
    if answer.status == 202:
        service = next(s for s in p.catalog if s["id"] == instance["service_id"])
        if not service.get("bindings_retrievable"):
            orphan(p.broker, p.state, path, ids_of(instance))
            raise CfError(
                "bind could not be completed: The service broker responded asynchronously to a request, "
                "but does not support fetching binding data.",
                job=True,
            )
        return p.settle("bind", instance, answer, binding)
    if answer.status in (200, 201) and cc.well_formed("bind", answer):
        binding["credentials"] = answer.body.get("credentials", {})
        set_operation(binding, "create", "succeeded")
        return "succeeded"
    p.state.data["bindings"].pop(binding["binding_key"])
    if cc.needs_orphan_mitigation("bind", answer):
        orphan(p.broker, p.state, path, ids_of(instance))
    raise CfError(f"bind could not be completed: {cc.failure(answer)}", job=True)


def bind_service(p: Platform, app: str, name: str) -> list[str]:
    lines = [f"Binding service instance {name} to app {app} {WHERE}"]
    if f"{name}/{app}" in p.state.data["bindings"]:
        return [*lines, f"App {app} is already bound to service instance {name}.", "OK", ""]
    if bind(p, name, None, app) == "in progress":
        return [
            *lines,
            "OK",
            "",
            f"Binding in progress. Use 'cf service {name}' to check operation status.",
            "",
            f"TIP: Once this operation succeeds, use 'cf restage {app}' to ensure your env variable changes "
            "take effect",
        ]
    return [*lines, "OK", "", f"TIP: Use 'cf restage {app}' to ensure your env variable changes take effect", ""]


def unbind_service(p: Platform, app: str, name: str) -> list[str]:
    lines = [f"Unbinding app {app} from service {name} {WHERE}"]
    binding = p.state.data["bindings"].get(f"{name}/{app}")
    if binding is None:
        return [*lines, f"Binding between {name} and {app} does not exist", "OK", ""]
    lines.append(f"Deleting service binding {binding['guid']}...")
    if unbind(p, p.state.instance(name), binding) == "in progress":
        return [*lines, "OK", "", f"Unbinding in progress. Use 'cf service {name}' to check operation status.", ""]
    return [*lines, "OK", ""]


def create_service_key(p: Platform, name: str, key: str) -> list[str]:
    lines = [f"Creating service key {key} for service instance {name} as {USER}..."]
    if f"{name}/{key}" in p.state.data["bindings"]:
        return [*lines, "", f"Service key {key} already exists", "OK", ""]
    if bind(p, name, key, None) == "in progress":
        return [*lines, "OK", "", "Create in progress.", ""]
    return [*lines, "OK", ""]


def delete_service_key(p: Platform, name: str, key: str) -> list[str]:
    instance = p.state.instance(name)
    if not p.options.f and not confirm(f"Really delete the service key {key}?"):
        return ["Delete cancelled", ""]
    lines = [f"Deleting key {key} for service instance {name} as {USER}..."]
    binding = p.state.data["bindings"].get(f"{name}/{key}")
    if binding is None:
        return [*lines, "", f"Service key {key} does not exist for service instance {name}.", "OK", ""]
    if unbind(p, instance, binding) == "in progress":
        return [*lines, "OK", "", "Delete in progress.", ""]
    return [*lines, "OK", ""]
