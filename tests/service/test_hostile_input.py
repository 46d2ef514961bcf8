"""Hostile or impossible requests: each a 4xx with an OSB error body, decided before any AWS call."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from broker.http.input_limits import cors_xml_bytes
from testing.harness import BASIC, ORG, SERVICE_ID, SPACE, BrokerServer, OSBClient, new_id


def assert_refused(response: requests.Response, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "description"}, body
    for word in words:
        assert word in body["description"], body
    return body


def provision_body(**extra: Any) -> dict[str, Any]:
    return {"service_id": SERVICE_ID, "plan_id": BASIC, "organization_guid": ORG, "space_guid": SPACE, **extra}


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [100_000, 200])
def test_deeply_nested_json_body_is_400(osb: OSBClient, aws_calls: list[str], depth: int) -> None:
    body = json.dumps(provision_body())[:-1] + f', "parameters": {{"tags": {nested(depth)}}}}}'
    response = osb.request(
        "PUT", f"/v2/service_instances/{new_id()}", data=body, headers={"Content-Type": "application/json"}
    )
    assert_refused(response, 400, "nested")
    assert aws_calls == []


# 3,000 levels: past Python's recursion limit, within the header sizes servers accept.
@pytest.mark.parametrize("depth", [3_000, 200])
def test_deeply_nested_originating_identity_is_400(osb: OSBClient, aws_calls: list[str], depth: int) -> None:
    identity = base64.b64encode(nested(depth).encode()).decode()
    response = osb.request(
        "PUT",
        f"/v2/service_instances/{new_id()}",
        json=provision_body(),
        headers={"X-Broker-API-Originating-Identity": f"cloudfoundry {identity}"},
    )
    assert_refused(response, 400, "Originating-Identity")
    assert aws_calls == []


def huge_cors_rules() -> list[dict[str, Any]]:
    """Within the schema's per-field limits, but far over S3's 64 KB for the whole configuration."""
    origins = [f"https://app-{i}.example.com" for i in range(100)]
    return [{"AllowedOrigins": origins, "AllowedMethods": ["GET"]} for _ in range(100)]


def test_cors_rules_over_s3s_cap_are_400_on_provision(osb: OSBClient, aws_calls: list[str]) -> None:
    rules = huge_cors_rules()
    assert cors_xml_bytes(rules) > 64 * 1024
    response = osb.provision(new_id(), parameters={"cors_rules": rules})
    assert_refused(response, 400, "cors_rules", "64 KB")
    assert aws_calls == []


def test_cors_rules_over_s3s_cap_are_400_on_update(osb: OSBClient, aws_calls: list[str]) -> None:
    instance = new_id()
    assert osb.provision(instance).status_code == 201
    aws_calls.clear()
    response = osb.update(instance, parameters={"cors_rules": huge_cors_rules()})
    assert_refused(response, 400, "cors_rules")
    assert aws_calls == []


def test_a_cors_origin_longer_than_the_schema_allows_is_400(osb: OSBClient, aws_calls: list[str]) -> None:
    rules = [{"AllowedOrigins": ["https://" + "a" * 2000], "AllowedMethods": ["GET"]}]
    assert_refused(osb.provision(new_id(), parameters={"cors_rules": rules}), 400, "cors_rules")
    assert aws_calls == []


@pytest.mark.parametrize("binding_id", ["bïnding-1", "binding-١٢٣", "用户"])
def test_non_ascii_binding_ids_are_400(osb: OSBClient, aws_calls: list[str], binding_id: str) -> None:
    response = osb.request(
        "PUT",
        f"/v2/service_instances/{new_id()}/service_bindings/{quote(binding_id)}",
        json={"service_id": SERVICE_ID, "plan_id": BASIC},
    )
    assert_refused(response, 400, "binding_id")
    assert aws_calls == []


@pytest.mark.parametrize(
    "instance_id",
    [
        "ops-artifacts",  # would name the operator's bucket cf-s3-ops-artifacts
        "abc-s3alias",  # S3's reserved suffixes
        "abc--ol-s3",
        "6f1c2a8e0b7d4c1e9a3f2d5e8b7c4a10",  # a GUID without its dashes
        "6f1c2a8e-0b7d-4c1e-9a3f-2d5e8b7c4a10-x",
        "6f1c2a8e-0b7d-4c1e-9a3f-2d5e8b7c4a1",
    ],
)
def test_instance_ids_that_are_no_guid_are_400(osb: OSBClient, aws_calls: list[str], instance_id: str) -> None:
    """Instance ids become bucket names: the Cloud Controller sends GUIDs, other clients might send a name
    that is an existing bucket's, which the broker would then configure (make public) or delete."""
    for response in (
        osb.provision(instance_id),
        osb.deprovision(instance_id),
        osb.update(instance_id, parameters={"public_bucket": True}),
        osb.bind(instance_id, new_id()),
    ):
        assert_refused(response, 400, "instance_id", "GUID")
    assert aws_calls == []


@pytest.mark.parametrize(
    ("method", "path", "field", "value"),
    [
        ("PUT", "/v2/service_instances/{i}", "context", "a string"),
        ("PATCH", "/v2/service_instances/{i}", "previous_values", ["a", "list"]),
        ("PATCH", "/v2/service_instances/{i}", "context", 5),
        ("PATCH", "/v2/service_instances/{i}", "parameters", "versioning"),
        ("PUT", "/v2/service_instances/{i}/service_bindings/{b}", "bind_resource", "app"),
        ("PUT", "/v2/service_instances/{i}/service_bindings/{b}", "context", []),
    ],
)
def test_fields_that_must_be_objects_are_400_otherwise(
    osb: OSBClient, aws_calls: list[str], method: str, path: str, field: str, value: Any
) -> None:
    response = osb.request(method, path.format(i=new_id(), b=new_id()), json=provision_body(**{field: value}))
    assert_refused(response, 400, field, "JSON object")
    assert aws_calls == []


def test_405_answers_carry_an_allow_header(osb: OSBClient) -> None:
    response = osb.request("POST", "/v2/catalog")
    assert_refused(response, 405)
    assert "GET" in response.headers["Allow"]


def raw_request(url: str, head: bytes, body: bytes = b"") -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer


def test_a_body_declared_over_1_mb_is_413_without_being_read(broker: BrokerServer, aws_calls: list[str]) -> None:
    # Only the headers are sent: the answer comes without the broker waiting for the body.
    head = (
        f"PUT /v2/service_instances/{new_id()} HTTP/1.1\r\nHost: broker\r\nContent-Type: application/json\r\n"
        "Content-Length: 5000000\r\n\r\n"
    ).encode()
    answer = raw_request(broker.url, head)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert aws_calls == []


def test_a_chunked_body_over_1_mb_is_413(osb: OSBClient, aws_calls: list[str]) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"service_id": "'
        for _ in range(40):
            yield b"x" * 32 * 1024

    response = osb.request(
        "PUT", f"/v2/service_instances/{new_id()}", data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_refused(response, 413)
    assert aws_calls == []
