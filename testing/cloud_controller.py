"""What the Cloud Controller (v3, with its v2 broker client) sends a service broker and how it reads
the answers, for the cf stand-in (testing/cf_emulator.py).

Figures and rules come from cloud_controller_ng (lib/services/service_brokers/v2/client.rb,
http_client.rb, response_parser.rb, orphan_mitigator.rb, app/jobs/reoccurring_job.rb); none of
its code. The stand-in's settings, from the environment, default to the Cloud Controller's:

    CF_POLL_INTERVAL       broker_client_default_async_poll_interval_seconds (60); tests set it low
    CF_MAX_POLL_INTERVAL   broker_client_max_async_poll_interval_seconds (86400)
    CF_MAX_POLL_DURATION   broker_client_max_async_poll_duration_minutes, in seconds (7 days)
    CF_BROKER_TIMEOUT      broker_client_timeout_seconds (60)
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests

OSBAPI_VERSION = "2.15"  # config/osbapi_version: what CC sends, whatever the broker speaks
USER_AGENT = "HTTPClient/1.0 (2.9.0, ruby 3.2.9 (2025-07-24))"  # the httpclient gem's default
API_INFO = "api.example.com/v2/info"
KEY_CLIENT = "cc_service_key_client"  # cc_service_key_client_name of CC's shipped config


def setting(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def identity_header(user_guid: str) -> str:
    """X-Broker-Api-Originating-Identity: compact JSON, strict base64 (IdentityEncoder)."""
    encoded = base64.b64encode(json.dumps({"user_id": user_guid}, separators=(",", ":")).encode()).decode()
    return f"cloudfoundry {encoded}"


@dataclass
class Answer:
    """A broker's answer as CC sees it: no status when the request timed out or found no broker."""

    status: int | None
    body: Any = None  # the parsed JSON, None if the body is not JSON
    text: str = ""
    reason: str = ""
    timed_out: bool = False
    retry_after: str | None = None
    url: str = ""

    @property
    def error(self) -> str | None:
        return self.body.get("error") if isinstance(self.body, dict) else None

    @property
    def description(self) -> str | None:
        return self.body.get("description") if isinstance(self.body, dict) else None


class BrokerClient:
    """CC's HTTP client for one broker: its headers on every request, its query strings."""

    def __init__(self, url: str, auth: tuple[str, str]) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.auth = auth
        self.timeout = setting("CF_BROKER_TIMEOUT", 60)

    def send(
        self, method: str, path: str, user_guid: str | None, query: dict[str, str] | None = None, **kw: Any
    ) -> Answer:
        headers = {
            "X-Broker-Api-Version": OSBAPI_VERSION,
            "X-Broker-API-Request-Identity": str(uuid.uuid4()),  # new on every request, polls included
            "X-Api-Info-Location": API_INFO,
            "X-VCAP-Request-ID": str(uuid.uuid4()),
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if user_guid:  # orphan mitigation runs with no user, and so without the header
            headers["X-Broker-Api-Originating-Identity"] = identity_header(user_guid)
        url = self.url + path
        if query:  # Rails' to_query: keys sorted
            url += "?" + urlencode(sorted(query.items()))
        try:
            response = self.session.request(method, url, headers=headers, timeout=self.timeout, **kw)
        except requests.Timeout:
            return Answer(None, timed_out=True, url=url)
        except requests.ConnectionError:
            return Answer(None, url=url)
        try:
            body = response.json()
        except ValueError:
            body = None
        return Answer(
            response.status_code,
            body,
            response.text,
            response.reason,
            retry_after=response.headers.get("Retry-After"),
            url=url,
        )

    def catalog(self, user_guid: str | None) -> Answer:
        return self.send("GET", "/v2/catalog", user_guid)

    def put(self, path: str, body: dict[str, Any], user_guid: str | None) -> Answer:
        return self.send("PUT", path, user_guid, {"accepts_incomplete": "true"}, json=body)

    def patch(self, path: str, body: dict[str, Any], user_guid: str | None) -> Answer:
        return self.send("PATCH", path, user_guid, {"accepts_incomplete": "true"}, json=body)

    def delete(self, path: str, ids: dict[str, str], user_guid: str | None) -> Answer:
        return self.send("DELETE", path, user_guid, {"accepts_incomplete": "true", **ids})

    def last_operation(self, path: str, ids: dict[str, str], operation: str | None, user_guid: str | None) -> Answer:
        query = {**ids, **({"operation": operation} if operation else {})}
        return self.send("GET", f"{path}/last_operation", user_guid, query)


# --- request bodies (client.rb) -----------------------------------------------------------------


@dataclass(frozen=True)
class Space:
    org_guid: str
    org_name: str
    space_guid: str
    space_name: str


def base_context(space: Space) -> dict[str, Any]:
    return {
        "platform": "cloudfoundry",
        "organization_guid": space.org_guid,
        "space_guid": space.space_guid,
        "organization_name": space.org_name,
        "space_name": space.space_name,
        "organization_annotations": {},  # only prefixed annotations are sent; the stand-in has none
        "space_annotations": {},
    }


def provision_body(ids: dict[str, str], space: Space, name: str, params: Any, maintenance: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        **ids,
        "organization_guid": space.org_guid,
        "space_guid": space.space_guid,
        "context": {**base_context(space), "instance_name": name, "instance_annotations": {}},
    }
    if params:  # `if arbitrary_parameters.present?`: {} is not sent
        body["parameters"] = params
    if maintenance:
        body["maintenance_info"] = maintenance
    return body


def update_body(
    ids: dict[str, str], previous: dict[str, Any], space: Space, name: str, params: Any, maintenance: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        **ids,
        "previous_values": {
            "plan_id": previous["plan_id"],
            "service_id": previous["service_id"],
            "organization_id": space.org_guid,
            "space_id": space.space_guid,
            "maintenance_info": previous.get("maintenance_info"),
        },
        "context": {**base_context(space), "instance_name": name},
        "parameters": params or {},  # always sent on update, {} when none were given
    }
    if maintenance:  # the new plan's, sliced to its version
        body["maintenance_info"] = {"version": maintenance["version"]}
    return body


def bind_body(ids: dict[str, str], space: Space, params: Any, app_guid: str | None) -> dict[str, Any]:
    body: dict[str, Any] = dict(ids)
    if app_guid:
        body["app_guid"] = app_guid  # deprecated in OSB, still sent at the top level
        body["bind_resource"] = {"app_guid": app_guid, "space_guid": space.space_guid, "app_annotations": {}}
    else:  # a service key: no app
        body["bind_resource"] = {"credential_client_id": KEY_CLIENT}
    body["context"] = base_context(space)
    if params:
        body["parameters"] = params
    return body


# --- how CC reads answers (response_parser.rb, orphan_mitigator.rb) ------------------------------

KNOWN_422 = {
    "provision": {"AsyncRequired", "ConcurrencyError", "MaintenanceInfoConflict"},
    "bind": {"RequiresApp", "AsyncRequired", "ConcurrencyError"},
}


def needs_orphan_mitigation(kind: str, answer: Answer) -> bool:
    """After a create (`provision`) or a bind: does CC send the DELETE that cleans up after it?"""
    if answer.timed_out:
        return True
    status = answer.status
    if status is None:  # no broker reached: nothing can have been made
        return False
    if status >= 500 or (status == 422 and answer.error not in KNOWN_422[kind]):
        return True
    if status in (201, 202) or (kind == "provision" and status == 200):
        return status != 200 and not well_formed(kind, answer)
    return not 400 <= status < 500 and status != 200  # 1xx, 3xx and the like: a bad response


def well_formed(kind: str, answer: Answer) -> bool:
    body = answer.body
    if not isinstance(body, dict):
        return False
    if kind == "bind" and answer.status != 202:
        return isinstance(body.get("credentials", {}), dict)
    operation = body.get("operation")
    dashboard = body.get("dashboard_url")
    return (operation is None or (isinstance(operation, str) and len(operation) <= 10000)) and (
        dashboard is None or isinstance(dashboard, str)
    )


def failure(answer: Answer) -> str:
    """CC's message for an answer it does not take as success."""
    if answer.timed_out:
        return f"The request to the service broker timed out: {answer.url}"
    if answer.status is None:
        return f"The service broker could not be reached: {answer.url}"
    status = f"{answer.status} {answer.reason}"
    if answer.status == 401:
        return (
            "Authentication failed for the service broker API. Double-check that the username and password "
            f"are correct: {answer.url}"
        )
    if answer.status >= 500 or answer.status < 400:
        return f"The service broker returned an invalid response. Status Code: {status}, Body: {answer.text}"
    if answer.description:
        return f"Service broker error: {answer.description}"
    return f"The service broker rejected the request. Status Code: {status}, Body: {answer.text}"


def next_poll_in(retry_after: str | None, previous: float | None) -> float:
    """Seconds to the next poll: the default interval, or Retry-After clamped to [default, max];
    a Retry-After stays in force until another replaces it (backoff rate 1.0: no growth)."""
    default, longest = setting("CF_POLL_INTERVAL", 60), setting("CF_MAX_POLL_INTERVAL", 86400)
    if retry_after is not None:
        asked = float(retry_after) if retry_after.strip().isdigit() else 0.0  # an HTTP date is 0 to Ruby's to_i
        previous = min(max(asked, default), longest)
    return min(max(previous or default, default), longest)


def poll_deadline(started: float, plan: dict[str, Any]) -> float:
    """When polling gives up: the plan's maximum_polling_duration if shorter than CC's maximum."""
    longest = setting("CF_MAX_POLL_DURATION", 7 * 24 * 3600)
    plan_max = plan.get("maximum_polling_duration")
    return started + (plan_max if plan_max and plan_max < longest else longest)


def poll_state(answer: Answer, deleting: bool) -> tuple[str, str | None]:
    """('succeeded' | 'failed' | 'in progress', description) of a last_operation answer."""
    if answer.status == 200 and isinstance(answer.body, dict):
        state = answer.body.get("state")
        if state in ("succeeded", "failed", "in progress"):
            return state, answer.body.get("description")
    if answer.status == 410:  # gone: done if it was a delete, otherwise keep polling
        return ("succeeded" if deleting else "in progress"), None
    if answer.status == 400:
        return "failed", answer.description or "Bad request"
    return "in progress", None  # errors, timeouts and malformed answers: CC polls on
