"""The cf stand-in against a scripted broker that records every request: it must send what the
Cloud Controller v3 sends, poll and clean up as it does, and print what cf v8 prints. (The docs'
tests run it against the real broker.)"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from testing import cloud_controller as cc
from testing.harness import REPO

SERVICE, PLAN, SLOW_PLAN, OTHER_PLAN = (str(uuid.uuid4()) for _ in range(4))
CATALOG = {
    "services": [
        {
            "id": SERVICE,
            "name": "s3",
            "description": "buckets",
            "bindable": True,
            "bindings_retrievable": True,
            "instances_retrievable": True,
            "plans": [
                {"id": PLAN, "name": "basic", "description": "d", "maintenance_info": {"version": "2.0.0"}},
                {"id": OTHER_PLAN, "name": "other", "description": "d"},
                {"id": SLOW_PLAN, "name": "slow", "description": "d", "maximum_polling_duration": 1},
            ],
        }
    ]
}


@dataclass
class Scripted:
    """A broker answering from a script: (method, path suffix) -> answers, the last one repeated."""

    script: dict[tuple[str, str], list[tuple[int, Any, dict[str, str], float]]] = field(default_factory=dict)
    seen: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, method: str, suffix: str, status: int, body: Any = None, delay: float = 0, **headers: str):
        self.script.setdefault((method, suffix), []).append((status, {} if body is None else body, headers, delay))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.seen.append(
            {
                "method": request.method,
                "path": request.path,
                "query": request.query_string.decode(),
                "headers": dict(request.headers),
                "body": request.get_json(silent=True),
            }
        )
        if request.path == "/v2/catalog":
            return Response(json.dumps(CATALOG), 200, content_type="application/json")(environ, start_response)
        for (method, suffix), answers in self.script.items():
            if method == request.method and suffix in request.path:
                status, body, headers, delay = answers.pop(0) if len(answers) > 1 else answers[0]
                time.sleep(delay)
                text = body if isinstance(body, str) else json.dumps(body)
                return Response(text, status, headers, content_type="application/json")(environ, start_response)
        default = {"PUT": (201, {"credentials": {"key": "k"}}), "PATCH": (200, {}), "DELETE": (200, {})}
        status, body = default.get(request.method, (404, {}))
        return Response(json.dumps(body), status, content_type="application/json")(environ, start_response)

    def requests(self, method: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.seen if r["path"] != "/v2/catalog" and method in (None, r["method"])]


@pytest.fixture
def broker() -> Iterator[tuple[Scripted, str]]:
    scripted = Scripted()
    server = make_server("127.0.0.1", 0, scripted, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield scripted, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def cf(broker: tuple[Scripted, str], tmp_path: Path) -> Any:
    def run(*arguments: str, ok: bool = True, **settings: str) -> subprocess.CompletedProcess[str]:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CF_")},
            "PYTHONPATH": str(REPO),
            "CF_STATE": str(tmp_path / "state.json"),
            "CF_BROKER_URL": broker[1],
            "CF_BROKER_AUTH": "cc:secret",
            "CF_POLL_INTERVAL": "0.05",
            **settings,
        }
        command = [sys.executable, "-m", "testing.cf_emulator", *arguments]
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert (result.returncode == 0) is ok, result.stdout + result.stderr
        return result

    return run


def test_every_request_carries_the_cloud_controllers_headers_and_queries(broker: Any, cf: Any) -> None:
    scripted, _url = broker
    cf("create-service", "s3", "basic", "si", "-c", '{"versioning": true}')
    cf("update-service", "si", "-p", "other")
    cf("bind-service", "app", "si")
    cf("create-service-key", "si", "key")
    cf("unbind-service", "app", "si")
    cf("delete-service-key", "si", "key", "-f")
    cf("delete-service", "si", "-f")
    sent = scripted.requests()
    assert [r["method"] for r in sent] == ["PUT", "PATCH", "PUT", "PUT", "DELETE", "DELETE", "DELETE"]
    identity = "cloudfoundry " + base64.b64encode(b'{"user_id":"683ea748-3092-4ff4-b656-39cacc4d5360"}').decode()
    for request in scripted.seen:
        headers = request["headers"]
        assert headers["X-Broker-Api-Version"] == "2.15"
        assert headers["X-Broker-Api-Originating-Identity"] == identity
        assert headers["Authorization"] == "Basic " + base64.b64encode(b"cc:secret").decode()
        assert headers["Accept"] == "application/json"
        assert ("Content-Type" in headers) is (request["method"] in ("PUT", "PATCH"))
    request_ids = [r["headers"]["X-Broker-Api-Request-Identity"] for r in scripted.seen]
    assert len(set(request_ids)) == len(request_ids) and all(uuid.UUID(i).version == 4 for i in request_ids)
    for request in sent:
        if request["method"] == "DELETE":  # sorted, as Rails' to_query writes it
            plan = OTHER_PLAN
            assert request["query"] == f"accepts_incomplete=true&plan_id={plan}&service_id={SERVICE}"
        else:
            assert request["query"] == "accepts_incomplete=true"


def test_the_bodies_are_the_cloud_controllers(broker: Any, cf: Any) -> None:
    scripted, _url = broker
    cf("create-service", "s3", "basic", "si", "-c", '{"versioning": true}')
    cf("update-service", "si", "-c", '{"versioning": false}')
    cf("update-service", "si", "-p", "other")
    cf("bind-service", "app", "si")
    cf("create-service-key", "si", "key")
    provision, update, replan, app_bind, key_bind = (r["body"] for r in scripted.requests())
    context = provision["context"]
    assert list(context) == [
        "platform",
        "organization_guid",
        "space_guid",
        "organization_name",
        "space_name",
        "organization_annotations",
        "space_annotations",
        "instance_name",
        "instance_annotations",
    ]
    assert context["instance_name"] == "si" and context["platform"] == "cloudfoundry"
    assert provision["organization_guid"] == context["organization_guid"]
    assert provision["parameters"] == {"versioning": True}
    assert provision["maintenance_info"] == {"version": "2.0.0"}
    assert set(update["previous_values"]) == {
        "plan_id",
        "service_id",
        "organization_id",
        "space_id",
        "maintenance_info",
    }
    assert update["plan_id"] == PLAN and "maintenance_info" not in update
    assert update["context"]["instance_name"] == "si" and "instance_annotations" not in update["context"]
    assert replan["plan_id"] == OTHER_PLAN and replan["parameters"] == {}  # always sent on update
    assert replan["previous_values"]["maintenance_info"] == {"version": "2.0.0"}
    assert app_bind["app_guid"] == app_bind["bind_resource"]["app_guid"]
    assert app_bind["bind_resource"]["space_guid"] == context["space_guid"]
    assert "instance_name" not in app_bind["context"] and "parameters" not in app_bind
    assert "app_guid" not in key_bind and key_bind["bind_resource"] == {"credential_client_id": "cc_service_key_client"}


def test_after_a_202_it_polls_at_once_then_at_its_interval_until_done(broker: Any, cf: Any) -> None:
    scripted, _url = broker
    scripted.answer("PUT", "", 202, {"operation": "make it"})
    scripted.answer("GET", "/last_operation", 200, {"state": "in progress"})
    scripted.answer("GET", "/last_operation", 200, {"state": "in progress"}, **{"Retry-After": "0"})
    scripted.answer("GET", "/last_operation", 200, {"state": "succeeded"})
    out = cf("create-service", "s3", "basic", "si", "--wait").stdout
    assert "Waiting for the operation to complete.." in out and "Service instance si created." in out
    polls = [r for r in scripted.seen if r["path"].endswith("/last_operation")]
    assert len(polls) == 3
    assert polls[0]["query"] == f"operation=make+it&plan_id={PLAN}&service_id={SERVICE}"
    assert len({p["headers"]["X-Broker-Api-Request-Identity"] for p in polls}) == 3


def test_without_wait_cf_returns_in_progress_and_the_polls_go_on(broker: Any, cf: Any) -> None:
    scripted, _url = broker
    scripted.answer("DELETE", "", 202, {"operation": "empty"})
    for left in (3, 2):  # one poll per command: each finds the next poll due
        scripted.answer("GET", "/last_operation", 200, {"state": "in progress", "description": f"{left} objects left"})
    scripted.answer("GET", "/last_operation", 410, {})  # gone: a delete that is done
    cf("create-service", "s3", "basic", "si")
    out = cf("delete-service", "si", "-f").stdout
    assert "Delete in progress. Use 'cf services' or 'cf service si' to check operation status." in out
    shown = cf("service", "si").stdout
    assert "   status:    delete in progress" in shown and "   message:   2 objects left" in shown
    assert "Service instance 'si' not found" in cf("service", "si", ok=False).stderr


def test_polling_stops_at_the_plans_maximum_polling_duration_and_the_create_is_cleaned_up(broker: Any, cf: Any) -> None:
    scripted, _url = broker
    scripted.answer("PUT", "", 202, {})
    scripted.answer("GET", "/last_operation", 200, {"state": "in progress"})
    result = cf("create-service", "s3", "slow", "si", "-w", ok=False, CF_POLL_INTERVAL="0.4")
    assert "Service Broker failed to provision within the required time." in result.stderr
    assert result.stderr.startswith("Job (") and result.stdout.rstrip().endswith("FAILED")
    orphan = scripted.requests("DELETE")
    assert len(orphan) == 1 and "X-Broker-Api-Originating-Identity" not in orphan[0]["headers"]


@pytest.mark.parametrize(
    ("status", "body", "cleaned_up"),
    [
        (500, {"description": "oops"}, True),
        (422, {"error": "SomethingElse"}, True),
        (201, "not json", True),
        (200, "not json", False),  # refused, but a 200 is never cleaned up
        (400, {"description": "bad parameter"}, False),
        (422, {"error": "ConcurrencyError"}, False),
        (409, {}, False),
    ],
)
def test_orphan_mitigation_on_a_failed_provision_as_the_cloud_controller_decides(
    broker: Any, cf: Any, status: int, body: Any, cleaned_up: bool
) -> None:
    scripted, _url = broker
    scripted.answer("PUT", "", status, body)
    result = cf("create-service", "s3", "basic", "si", ok=False)
    assert len(scripted.requests("DELETE")) == int(cleaned_up)
    if status == 400:
        assert "provision could not be completed: Service broker error: bad parameter" in result.stderr


def test_a_bind_that_times_out_is_cleaned_up(broker: Any, cf: Any) -> None:
    scripted, _url = broker
    cf("create-service", "s3", "basic", "si")
    scripted.answer("PUT", "/service_bindings/", 201, {"credentials": {}}, delay=1.0)
    result = cf("create-service-key", "si", "key", ok=False, CF_BROKER_TIMEOUT="0.3")
    assert "bind could not be completed: The request to the service broker timed out" in result.stderr
    (cleanup,) = scripted.requests("DELETE")
    assert "/service_bindings/" in cleanup["path"] and cleanup["query"].startswith("accepts_incomplete=true&")


def test_delete_service_unbinds_apps_then_keys_then_deprovisions(broker: Any, cf: Any) -> None:
    scripted, _url = broker
    cf("create-service", "s3", "basic", "si")
    cf("create-service-key", "si", "key")
    cf("bind-service", "app", "si")
    scripted.answer("DELETE", "/service_bindings/", 410, {})  # already gone: fine
    out = cf("delete-service", "si", "-f").stdout
    instance, key, app = (r["path"].rsplit("/", 1)[1] for r in scripted.requests("PUT"))
    assert [r["path"].rsplit("/", 1)[1] for r in scripted.requests("DELETE")] == [app, key, instance]
    assert out.splitlines()[-3:] == ["Service instance si deleted.", "OK", ""]


def test_cf_v8_output_lines(broker: Any, cf: Any) -> None:
    where = "in org example-org / space dev as developer@example.com..."
    assert cf("create-service", "s3", "basic", "si").stdout.splitlines() == [
        f"Creating service instance si {where}",
        "",
        "Service instance si created.",
        "OK",
        "",
    ]
    assert cf("bind-service", "app", "si").stdout.splitlines()[:4] == [
        f"Binding service instance si to app app {where}",
        "OK",
        "",
        "TIP: Use 'cf restage app' to ensure your env variable changes take effect",
    ]
    assert cf("update-service", "si").stdout.splitlines()[0] == "No flags specified. No changes were made."
    assert "Service instance gone did not exist." in cf("delete-service", "gone", "-f").stdout
    missing = cf("service-key", "si", "nokey", ok=False)
    assert "No service key nokey found for service instance si" in missing.stderr and "FAILED" in missing.stdout


def test_retry_after_is_clamped_as_the_cloud_controller_clamps_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CF_POLL_INTERVAL", "60")
    assert cc.next_poll_in(None, None) == 60
    assert cc.next_poll_in("5", None) == 60  # never below the default interval
    assert cc.next_poll_in("600", None) == 600
    assert cc.next_poll_in(None, 600) == 600  # a Retry-After holds until another replaces it
    assert cc.next_poll_in("Wed, 21 Oct 2026 07:28:00 GMT", None) == 60  # to_i of a date is 0
    assert cc.next_poll_in("999999", None) == 86400
