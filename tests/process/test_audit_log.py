"""Every log line is a JSON object; every OSB request leaves one audit line saying who did what, and how it ended.

Run as Cloud Foundry runs it (the Procfile's gunicorn, two workers), output captured whole.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
from typing import Any

import pytest

from broker.http.audit import audit_record, originating_identity, outcome
from broker.logs import JsonFormatter
from testing.harness import BASIC, SERVICE_ID, Backend, free_port, new_id
from testing.processes import cf_env, osb, procfile_command, running

AUTH = ("cc", "cf-password")


def identity_header(user_id: str) -> str:
    return "cloudfoundry " + base64.b64encode(json.dumps({"user_id": user_id}).encode()).decode()


# Its tests share a server that a module fixture starts: under xdist one worker runs them all.
pytestmark = pytest.mark.xdist_group("audit_log")


@pytest.fixture(scope="module")
def server_run(backend: Backend) -> dict[str, Any]:
    """Drive a broker process through an instance's life; return what it logged and what it handed out."""
    port = free_port()
    instance_id, binding_id = new_id(), new_id()
    asked_by = {"X-Broker-API-Originating-Identity": identity_header("683ea748-3092-4ff4-b656-39cacc4d5360")}
    body = {"service_id": SERVICE_ID, "plan_id": BASIC, "organization_guid": "org", "space_guid": "space"}
    query = {"service_id": SERVICE_ID, "plan_id": BASIC}
    binding_path = f"/v2/service_instances/{instance_id}/service_bindings/{binding_id}"
    env = cf_env(backend, port, WEB_CONCURRENCY="2")
    with running(procfile_command("--bind", f"127.0.0.1:{port}"), env, port) as process:
        headers = {**asked_by, "X-Broker-API-Request-Identity": "e26cea3c-1e4a-4e8f-a0b1-2c3d4e5f6a7b"}
        provisioned = osb(port, AUTH, "PUT", f"/v2/service_instances/{instance_id}", json=body, headers=headers)
        assert provisioned.status_code == 201
        bound = osb(port, AUTH, "PUT", binding_path, json=body, headers=asked_by)
        assert bound.status_code == 201
        fetched = osb(port, AUTH, "GET", binding_path, headers=asked_by)
        assert osb(port, AUTH, "DELETE", binding_path, params=query, headers=asked_by).status_code == 200
        forged = {
            "X-Broker-API-Originating-Identity": identity_header("forged-admin"),
            "X-Broker-API-Request-Identity": "forged-request",
        }
        assert osb(port, ("cc", "wrong-password"), "GET", "/v2/catalog", headers=forged).status_code == 401
        malformed = {"X-Broker-API-Originating-Identity": "cloudfoundry not-base64!"}
        assert osb(port, AUTH, "GET", f"/v2/service_instances/{instance_id}", headers=malformed).status_code == 400
        assert osb(port, AUTH, "DELETE", f"/v2/service_instances/{instance_id}", params=query).status_code == 200
    assert process.stdout is not None
    return {
        "output": process.stdout.read(),
        "credentials": bound.json()["credentials"],
        "fetched": fetched,
        "instance_id": instance_id,
        "binding_id": binding_id,
        "broker_secret": env["AWS_SECRET_ACCESS_KEY"],
    }


def audit_lines(run: dict[str, Any]) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in run["output"].splitlines()]
    return [line for line in lines if line["logger"] == "broker.audit"]


def test_every_line_is_a_json_object_with_the_common_fields(server_run: dict[str, Any]) -> None:
    lines = server_run["output"].splitlines()
    assert len(lines) > 8  # gunicorn's own lines, the identity check, the audit lines
    for line in lines:
        entry = json.loads(line)
        assert isinstance(entry, dict)
        assert {"timestamp", "level", "logger", "message"} <= entry.keys(), line


def test_each_osb_request_leaves_one_audit_line_with_who_what_and_outcome(server_run: dict[str, Any]) -> None:
    audit = audit_lines(server_run)
    assert [line["operation"] for line in audit] == [
        "provision",
        "bind",
        "get_binding",
        "unbind",
        "catalog",
        "get_instance",
        "deprovision",
    ]
    provision = audit[0]
    assert provision["method"] == "PUT"
    assert provision["path"] == f"/v2/service_instances/{server_run['instance_id']}"
    assert provision["instance_id"] == server_run["instance_id"]
    assert provision["binding_id"] is None
    assert provision["request_identity"] == "e26cea3c-1e4a-4e8f-a0b1-2c3d4e5f6a7b"
    assert provision["originating_identity"] == {
        "platform": "cloudfoundry",
        "user": {"user_id": "683ea748-3092-4ff4-b656-39cacc4d5360"},
    }
    assert provision["status"] == 201 and provision["outcome"] == "succeeded"
    assert isinstance(provision["duration_ms"], float) and provision["duration_ms"] >= 0
    unbind = audit[3]
    assert unbind["binding_id"] == server_run["binding_id"] and unbind["method"] == "DELETE"
    denied, malformed, deprovision = audit[4], audit[5], audit[6]
    assert (denied["status"], denied["outcome"], denied["originating_identity"]) == (401, "refused", None)
    # A caller that failed auth claims identities nobody vouches for: they stay out of the audit line.
    assert denied["authenticated"] is False and denied["request_identity"] is None
    assert "forged" not in json.dumps(denied)
    assert provision["authenticated"] is True
    assert malformed["status"] == 400 and malformed["originating_identity"]["malformed"] is True
    assert deprovision["originating_identity"] is None and deprovision["outcome"] == "succeeded"


def test_get_binding_is_answered_without_an_error_in_the_log(server_run: dict[str, Any]) -> None:
    fetched = server_run["fetched"]
    assert fetched.status_code == 501
    assert fetched.json()["error"] == "NotSupported"
    assert "when made" in fetched.json()["description"]
    entries = [json.loads(line) for line in server_run["output"].splitlines()]
    assert not [entry for entry in entries if entry["level"] in ("ERROR", "CRITICAL")]
    assert not [entry for entry in entries if "exception" in entry]
    assert [line["outcome"] for line in audit_lines(server_run) if line["operation"] == "get_binding"] == ["refused"]
    assert not [entry for entry in entries if entry["logger"] == "gunicorn.access"]  # the audit lines say more


def test_no_secret_reaches_the_log(server_run: dict[str, Any]) -> None:
    output = server_run["output"]
    credentials = server_run["credentials"]
    basic = base64.b64encode(b"cc:cf-password").decode()
    for secret in (credentials["secret_access_key"], server_run["broker_secret"], "cf-password", basic):
        assert secret not in output
    assert credentials["access_key_id"] not in output  # nor the key id, which names the credentials


def test_originating_identity_decodes_what_cloud_foundry_sends() -> None:
    assert originating_identity(identity_header("u-1")) == {"platform": "cloudfoundry", "user": {"user_id": "u-1"}}
    assert originating_identity(None) is None
    assert originating_identity("kubernetes e30=") == {"platform": "kubernetes", "user": {}}
    assert originating_identity("cloudfoundry %%%")["malformed"] is True  # type: ignore[index]
    assert [outcome(s) for s in (200, 201, 404, 422, 501, 500, 503)] == [
        "succeeded",
        "succeeded",
        "refused",
        "refused",
        "refused",
        "failed",
        "failed",
    ]


def test_an_audit_record_holds_no_header_but_the_two_identities() -> None:
    record = audit_record(
        operation="bind",
        method="PUT",
        path="/v2/service_instances/i/service_bindings/b",
        view_args={"instance_id": "i", "binding_id": "b"},
        headers={"Authorization": "Basic c2VjcmV0", "X-Broker-API-Request-Identity": "r-1"},
        status=201,
        seconds=0.0123,
    )
    assert "c2VjcmV0" not in json.dumps(record)
    assert record["duration_ms"] == 12.3 and record["request_identity"] == "r-1"


def test_an_unauthenticated_request_leaves_out_the_identities_it_claims() -> None:
    record = audit_record(
        operation="provision",
        method="PUT",
        path="/v2/service_instances/i",
        view_args={"instance_id": "i"},
        headers={
            "X-Broker-API-Originating-Identity": identity_header("someone-else"),
            "X-Broker-API-Request-Identity": "r-1",
        },
        status=401,
        seconds=0.001,
    )
    assert record["authenticated"] is False
    assert record["originating_identity"] is None and record["request_identity"] is None
    assert record["instance_id"] == "i" and record["outcome"] == "refused"


def test_the_formatter_keeps_a_traceback_in_its_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("broker.x", logging.ERROR, __file__, 1, "failed %s", ("here",), exc_info=True)
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "failed here" and "ValueError: boom" in entry["exception"]
