"""What every command of the cf stand-in shares: the org, space and user it runs as, the Cloud
Controller as one command sees it (the registered broker, the catalog CC keeps, CF_STATE), and
cf's own input and output conventions."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from testing import cloud_controller as cc
from testing.cc_jobs import CfError, State, poll, start_poll

SPACE = cc.Space("0c6a3e59-1b8f-4bd4-9a07-1b0f8c2a6d11", "example-org", "7e1d2c3b-4a59-4687-9f0e-1d2c3b4a5968", "dev")
USER = "developer@example.com"
USER_GUID = "683ea748-3092-4ff4-b656-39cacc4d5360"
WHERE = f"in org {SPACE.org_name} / space {SPACE.space_name} as {USER}..."


class Platform:
    """The Cloud Controller as one cf command sees it: the registered broker, its catalog, the state."""

    def __init__(self, state: State, options: argparse.Namespace) -> None:
        self.state, self.options = state, options
        registered = state.data.get("broker", {})
        routed = state.data["apps"].get(registered.get("app"), {}).get("url")  # the route of a pushed broker
        user, _, password = registered.get("auth", os.environ.get("CF_BROKER_AUTH", "")).partition(":")
        self.broker = cc.BrokerClient(routed or os.environ.get("CF_BROKER_URL", ""), (user, password))

    @property
    def catalog(self) -> list[dict[str, Any]]:
        if "catalog" not in self.state.data:  # CC keeps the catalog it read at registration
            answer = self.broker.catalog(USER_GUID)
            if answer.status != 200:
                raise CfError(cc.failure(answer))
            self.state.data["catalog"] = answer.body["services"]
        return self.state.data["catalog"]

    def plans(self) -> dict[str, dict[str, Any]]:
        return {plan["id"]: plan for service in self.catalog for plan in service["plans"]}

    def service(self, name: str) -> dict[str, Any]:
        for service in self.catalog:
            if service["name"] == name:
                return service
        raise CfError(f"Service offering '{name}' not found.")

    def plan(self, service: dict[str, Any], name: str) -> dict[str, Any]:
        for plan in service["plans"]:
            if plan["name"] == name:
                return plan
        raise CfError(f"The plan {name} could not be found for service offering {service['name']}.")

    def settle(
        self, kind: str, instance: dict[str, Any], answer: cc.Answer, binding: dict[str, Any] | None = None, **job: Any
    ) -> str:
        """After a 202: the job's first poll at once; with --wait, every poll until it ends. Its state."""
        record = binding or instance
        started = start_poll(self.state, kind, instance, answer, USER_GUID, binding)
        started.update(job)
        plan = self.plans().get(instance["plan_id"], {})
        status = poll(self.broker, self.state, started, plan, wait=self.options.wait)
        if status == "failed":
            verb = "create managed" if kind == "create" else kind
            raise CfError(f"{verb} could not be completed: {record['last_operation']['description']}", job=True)
        return status


def parameters(value: str | None) -> Any:
    """cf's -c: inline JSON, or the path of a JSON file."""
    if value is None:
        return None
    path = Path(value)
    try:
        return json.loads(path.read_text() if path.is_file() else value)
    except ValueError:
        raise CfError(
            "Invalid configuration provided for -c flag. Please provide a valid JSON object "
            "or path to a file containing a valid JSON object."
        ) from None


def ids_of(instance: dict[str, Any]) -> dict[str, str]:
    return {"service_id": instance["service_id"], "plan_id": instance["plan_id"]}


def busy(name: str, record: dict[str, Any]) -> None:
    if (record.get("last_operation") or {}).get("state") == "in progress":
        raise CfError(f"An operation for service instance {name} is in progress.")


def in_progress(verb: str, name: str) -> str:
    return f"{verb} in progress. Use 'cf services' or 'cf service {name}' to check operation status."


def waiting(p: Platform, lines: list[str]) -> None:
    if p.options.wait:
        lines += ["Waiting for the operation to complete..", ""]


def confirm(question: str) -> bool:
    print(f"{question} [yN]: ", end="", flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")
