"""The Cloud Controller's side of the cf stand-in: what it remembers (CF_STATE, a JSON file) and
its background jobs, polling last_operation after a 202 and cleaning up orphans.

CC runs those jobs on its own clock; the stand-in runs each one that is due when the next `cf`
command starts, or in the foreground for `--wait`. Either way the broker sees the Cloud
Controller's requests at the Cloud Controller's intervals (testing/cloud_controller.py).
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from testing import cloud_controller as cc

ORPHAN_ATTEMPTS = 11  # delayed_job's max_attempts for DeleteOrphanedInstance / DeleteOrphanedBinding


class CfError(Exception):
    """What cf prints on stderr before FAILED; `job` set when it is a failed CC job."""

    def __init__(self, message: str, job: bool = False) -> None:
        super().__init__(message)
        self.job = job


class State:
    def __init__(self, path: Path) -> None:
        self.path = path
        empty: dict[str, Any] = {"instances": {}, "bindings": {}, "apps": {}, "jobs": []}
        self.data: dict[str, Any] = {**empty, **(json.loads(path.read_text()) if path.exists() else {})}

    def save(self) -> None:
        self.path.write_text(json.dumps(self.data))

    def instance(self, name: str) -> dict[str, Any]:
        if name not in self.data["instances"]:
            raise CfError(f"Service instance '{name}' not found")
        return self.data["instances"][name]

    def bindings_of(self, instance: str) -> list[dict[str, Any]]:
        return [b for b in self.data["bindings"].values() if b["instance"] == instance]


def now_stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def set_operation(record: dict[str, Any], kind: str, state: str, description: str | None = None) -> None:
    previous = record.get("last_operation") or {}
    same = previous.get("type") == kind
    record["last_operation"] = {
        "type": kind,
        "state": state,
        "description": description or "",
        "created_at": previous["created_at"] if same else now_stamp(),
        "updated_at": now_stamp(),
    }


def paths(state: State, job: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The broker path, the instance record and the record the job is about (instance or binding)."""
    instance = next(i for i in state.data["instances"].values() if i["guid"] == job["instance_guid"])
    path = f"/v2/service_instances/{instance['guid']}"
    if job.get("binding_guid"):
        return f"{path}/service_bindings/{job['binding_guid']}", instance, state.data["bindings"][job["binding_key"]]
    return path, instance, instance


def poll(broker: cc.BrokerClient, state: State, job: dict[str, Any], plan: dict[str, Any], wait: bool) -> str:
    """Poll a job's last_operation as CC does: the first poll at once, then at CC's interval, until
    it ends or the plan's maximum_polling_duration passes. Without `wait`, stop at the first
    poll not yet due and leave the job for a later command. Returns the job's state."""
    deadline = cc.poll_deadline(job["started"], plan)
    while True:
        if time.time() < job["due"]:
            if not wait:
                return "in progress"
            time.sleep(job["due"] - time.time())
        path, instance, record = paths(state, job)
        ids = {"service_id": instance["service_id"], "plan_id": instance["plan_id"]}
        answer = broker.last_operation(path, ids, job.get("operation"), job["user_guid"])
        status, description = cc.poll_state(answer, deleting=job["type"] in ("delete", "unbind"))
        if status == "succeeded" and job["type"] == "bind":  # an async bind's credentials: fetched once done
            fetched = broker.send("GET", path, job["user_guid"])
            record["credentials"] = (fetched.body or {}).get("credentials", {}) if fetched.status == 200 else {}
        if status != "in progress":
            finish(state, job, record, status, description)
            return status
        if description:  # CC shows the broker's latest word on the operation
            set_operation(record, job["type"], "in progress", description)
        job["interval"] = cc.next_poll_in(answer.retry_after, job.get("interval"))
        job["due"] = time.time() + job["interval"]
        if job["due"] > deadline:  # CC's handle_timeout
            verb = {"create": "provision", "delete": "deprovision"}.get(job["type"], job["type"])
            finish(state, job, record, "failed", f"Service Broker failed to {verb} within the required time.")
            if job["type"] in ("create", "bind"):
                orphan(broker, state, path, ids)
            return "failed"


def finish(state: State, job: dict[str, Any], record: dict[str, Any], status: str, description: str | None) -> None:
    set_operation(record, job["type"], status, description)
    if status == "succeeded" and job["type"] in ("delete", "unbind"):
        forget(state, record)
    if status == "succeeded" and job.get("adopt"):  # an update's proposed plan and maintenance_info
        record.update(job["adopt"])
    if job in state.data["jobs"]:
        state.data["jobs"].remove(job)


def forget(state: State, record: dict[str, Any]) -> None:
    if record.get("binding_key"):
        state.data["bindings"].pop(record["binding_key"], None)
    else:
        state.data["instances"].pop(record["name"], None)


def start_poll(
    state: State, kind: str, instance: dict[str, Any], answer: cc.Answer, user: str, binding: dict[str, Any] | None
) -> dict[str, Any]:
    """The job CC enqueues after a 202: its first poll is due at once."""
    job = {
        "id": str(uuid.uuid4()),
        "kind": "poll",
        "type": kind,
        "instance_guid": instance["guid"],
        "operation": (answer.body or {}).get("operation") if isinstance(answer.body, dict) else None,
        "started": time.time(),
        "due": time.time(),
        "user_guid": user,
    }
    if binding:
        job.update(binding_guid=binding["guid"], binding_key=binding["binding_key"])
    state.data["jobs"].append(job)
    set_operation(binding or instance, kind, "in progress", None)
    return job


def orphan(broker: cc.BrokerClient, state: State, path: str, ids: dict[str, str]) -> None:
    """CC's orphan mitigation: a DELETE at once, retried 2**n minutes apart (CF_ORPHAN_RETRY_UNIT s) until 200/410."""
    job = {"id": str(uuid.uuid4()), "kind": "orphan", "path": path, "ids": ids, "attempt": 0, "due": time.time()}
    state.data["jobs"].append(job)
    run_orphan(broker, state, job)


def run_orphan(broker: cc.BrokerClient, state: State, job: dict[str, Any]) -> None:
    answer = broker.delete(job["path"], job["ids"], None)  # no user: no originating identity
    job["attempt"] += 1
    if answer.status in (200, 410, 202) or job["attempt"] >= ORPHAN_ATTEMPTS:  # a 202 is not polled
        state.data["jobs"].remove(job)
    else:
        job["due"] = time.time() + cc.setting("CF_ORPHAN_RETRY_UNIT", 60) * 2 ** job["attempt"]


def run_due(broker: cc.BrokerClient, state: State, plans: dict[str, dict[str, Any]]) -> None:
    """Every job whose time has come, as CC's workers would have run it meanwhile."""
    for job in list(state.data["jobs"]):
        if job["due"] > time.time():
            continue
        if job["kind"] == "orphan":
            run_orphan(broker, state, job)
        else:
            instance = paths(state, job)[1]
            poll(broker, state, job, plans.get(instance["plan_id"], {}), wait=False)
