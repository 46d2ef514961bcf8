"""A stand-in for the `cf` CLI (v8) in the docs' tests: each command becomes what the Cloud
Controller (v3) sends the broker, and prints what cf v8 prints for it (the cf CLI's
command/v7/*_command.go). testing/cloud_controller.py holds CC's requests and how it reads the
answers, testing/cc_jobs.py its polling and orphan mitigation, testing/cf_platform.py what every
command shares, testing/cf_services.py and testing/cf_apps.py the commands.

The broker is at CF_BROKER_URL with CF_BROKER_AUTH (user:pass), or the app that
`cf create-service-broker` registered. What CC remembers is in CF_STATE, a JSON file. Only what
the docs use is here; a failure prints on stderr, then FAILED on stdout, and exits 1, as cf does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from testing import cf_apps, cf_services
from testing import cloud_controller as cc
from testing.cc_jobs import CfError, State, run_due
from testing.cf_platform import SPACE, USER, USER_GUID, WHERE, Platform, confirm, in_progress, waiting


def service(p: Platform, name: str) -> list[str]:
    instance = p.state.instance(name)
    if p.options.guid:
        return [instance["guid"]]
    if p.options.params:  # CC asks the broker (instances_retrievable) and shows its parameters
        answer = p.broker.send("GET", f"/v2/service_instances/{instance['guid']}", USER_GUID)
        if answer.status != 200:
            raise CfError(cc.failure(answer))
        return [json.dumps(answer.body.get("parameters", {}), indent=2, sort_keys=True, ensure_ascii=False)]
    offering = next(s for s in p.catalog if s["id"] == instance["service_id"])
    plan = p.plans()[instance["plan_id"]]
    operation = instance.get("last_operation")
    rows = [
        ("name:", name),
        ("guid:", instance["guid"]),
        ("type:", "managed"),
        ("broker:", "s3-broker"),
        ("offering:", offering["name"]),
        ("plan:", plan["name"]),
        ("tags:", ""),
        ("offering tags:", ", ".join(offering.get("tags", []))),
        ("description:", offering["description"]),
        ("documentation:", offering.get("metadata", {}).get("documentationUrl", "")),
        ("dashboard url:", ""),
    ]
    lines = [f"Showing info of service {name} {WHERE}", "", *(f"{k:<18}{v}".rstrip() for k, v in rows), ""]
    lines.append("Showing status of last operation:")
    if operation:
        lines += [
            f"   status:    {operation['type']} {operation['state']}",
            f"   message:   {operation['description']}",
            f"   started:   {operation['created_at']}",
            f"   updated:   {operation['updated_at']}",
        ]
    else:
        lines.append("   There is no last operation available for this service instance.")
    apps = [b for b in p.state.bindings_of(name) if b["app"]]
    lines += ["", "Showing bound apps:"]
    if apps:
        lines.append("   name   binding name   status   message   guid   created_at")
        lines += [
            f"   {b['app']}      {(b.get('last_operation') or {}).get('type', 'create')} "
            f"{(b.get('last_operation') or {}).get('state', 'succeeded')}      {b['guid']}"
            for b in apps
        ]
    else:
        lines.append("   There are no bound apps for this service instance.")
    lines += [
        "",
        "Showing sharing info:",
        "   This service instance is not currently being shared.",
        "",
        "Showing upgrade status:",
        *upgrade_status(instance, plan),
        "",
    ]
    return lines


def service_key(p: Platform, name: str, key: str) -> list[str]:
    p.state.instance(name)
    binding = p.state.data["bindings"].get(f"{name}/{key}")
    if binding is None or "credentials" not in binding:
        raise CfError(f"No service key {key} found for service instance {name}")
    if p.options.guid:
        return [binding["guid"]]
    # CC answers from the credentials it stored; it does not ask the broker. Go's encoder: sorted, 2 spaces.
    shown = json.dumps({"credentials": binding["credentials"]}, indent=2, sort_keys=True, ensure_ascii=False)
    return [f"Getting key {key} for service instance {name} as {USER}...", "", shown, ""]


def upgrade_service(p: Platform, name: str) -> list[str]:
    """cf upgrade-service: CC's PATCH with the plan's maintenance_info version (description dropped)."""
    instance = p.state.instance(name)
    if not p.options.f:
        print(
            "Warning: This operation may be long running and will block further operations on the service "
            "instance until it's completed"
        )
        if not confirm(f"Do you really want to upgrade the service instance {name}?"):
            return ["Upgrade cancelled", ""]
    lines = [f"Upgrading service instance {name} {WHERE}", ""]
    plan = p.plans()[instance["plan_id"]]
    target = plan.get("maintenance_info")
    if not upgrade_available(instance, plan):
        return [*lines, "No upgrade is available.", "OK", ""]
    waiting(p, lines)
    if cf_services.send_update(p, name, instance, plan, None, target) == "in progress":
        return [*lines, in_progress("Upgrade", name), "OK", ""]
    return [*lines, f"Upgrade of service instance {name} complete.", "OK", ""]


def upgrade_available(instance: dict[str, Any], plan: dict[str, Any]) -> bool:
    """CC's upgrade_available: the versions differ, as plain strings ({} standing in for none)."""
    return (instance.get("maintenance_info") or {}).get("version") != (plan.get("maintenance_info") or {}).get(
        "version"
    )


def upgrade_status(instance: dict[str, Any], plan: dict[str, Any]) -> list[str]:
    if upgrade_available(instance, plan):
        description = (plan.get("maintenance_info") or {}).get("description", "")
        return [
            "   There is an upgrade available for this service.",
            "",
            f"   Upgrade description: {description}",
            f"   TIP: You can upgrade using 'cf upgrade-service {instance['name']}'",
        ]
    if (instance.get("maintenance_info") or {}).get("version"):
        return ["   There is no upgrade available for this service."]
    return ["   Upgrades are not supported by this broker."]


def env(p: Platform, app: str) -> list[str]:
    """What the app finds in VCAP_SERVICES: one entry per binding of it, as CC builds them."""
    services: dict[str, list[dict[str, Any]]] = {}
    for binding in p.state.data["bindings"].values():
        if binding["app"] != app or "credentials" not in binding:
            continue
        instance = p.state.instance(binding["instance"])
        offering = next(s for s in p.catalog if s["id"] == instance["service_id"])
        services.setdefault(offering["name"], []).append(
            {
                "label": offering["name"],
                "provider": None,
                "plan": p.plans()[instance["plan_id"]]["name"],
                "name": binding["instance"],
                "tags": offering.get("tags", []),
                "instance_guid": instance["guid"],
                "instance_name": binding["instance"],
                "binding_guid": binding["guid"],
                "binding_name": None,
                "credentials": binding["credentials"],
                "syslog_drain_url": None,
                "volume_mounts": [],
            }
        )
    shown = json.dumps(services, indent=2, sort_keys=True, ensure_ascii=False)
    application = json.dumps({"application_name": app, "space_name": SPACE.space_name}, indent=2, sort_keys=True)
    return [
        f"Getting env variables for app {app} {WHERE}",
        "System-Provided:",
        f"VCAP_SERVICES: {shown}",
        "",
        f"VCAP_APPLICATION: {application}",
        "",
        "No user-provided env variables have been set",
        "",
    ]


def restage(p: Platform, app: str) -> list[str]:
    return [f"Restaging app {app} {WHERE}", "", "Staging app and tracing logs...", "", "OK", ""]


COMMANDS: dict[str, Callable[..., list[str]]] = {
    "create-service": cf_services.create_service,
    "update-service": cf_services.update_service,
    "upgrade-service": upgrade_service,
    "delete-service": cf_services.delete_service,
    "bind-service": cf_services.bind_service,
    "unbind-service": cf_services.unbind_service,
    "create-service-key": cf_services.create_service_key,
    "delete-service-key": cf_services.delete_service_key,
    "service-key": service_key,
    "service": service,
    "env": env,
    "restage": restage,
    "set-env": cf_apps.set_env,
    "push": cf_apps.push,
    "start": cf_apps.start,
    "restart": cf_apps.restart,
    "create-service-broker": cf_apps.create_service_broker,
    "enable-service-access": cf_apps.enable_service_access,
}


def parse(arguments: list[str]) -> tuple[str, argparse.Namespace]:
    command = arguments[0] if arguments else "help"
    parser = argparse.ArgumentParser(prog=f"cf {command}")
    parser.add_argument("-c")
    parser.add_argument("-p")
    parser.add_argument("-f", action="store_true")
    parser.add_argument("-w", "--wait", action="store_true")
    parser.add_argument("--guid", action="store_true")
    parser.add_argument("--params", action="store_true")
    parser.add_argument("--no-start", action="store_true")
    parser.add_argument("positional", nargs="*")
    return command, parser.parse_args(arguments[1:])


def main() -> int:
    state = State(Path(os.environ["CF_STATE"]))
    command, options = parse(sys.argv[1:])
    try:
        if command not in COMMANDS:
            raise CfError(f"'{command}' is not a registered command. See 'cf help -a'")
        platform = Platform(state, options)
        if state.data["jobs"]:  # what CC's workers did since the last command
            run_due(platform.broker, state, platform.plans())
        print("\n".join(COMMANDS[command](platform, *options.positional)))
    except CfError as error:
        detail = f"Job ({uuid.uuid4()}) failed: {error}" if error.job else str(error)
        print(detail, file=sys.stderr)
        print("FAILED")
        return 1
    finally:
        state.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
