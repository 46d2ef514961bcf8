"""What openbrokerapi leaves to the broker: auth first, version, ids, bodies, errors as OSB bodies.

Every bad request must be a 4xx naming what is wrong, and must touch nothing in AWS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from testing.harness import BASIC, BASIC_PUBLIC, ORG, REPO, SERVICE_ID, SPACE, Backend, BrokerServer, OSBClient, new_id

PROVISION_BODY = {"service_id": SERVICE_ID, "plan_id": BASIC, "organization_guid": ORG, "space_guid": SPACE}


def no_bucket(s3: Any, instance_id: str) -> bool:
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    return f"cf-s3-{instance_id}" not in names


def assert_osb_error(response: requests.Response, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] and body["description"]
    for word in words:
        assert word in body["description"], body
    return body


def test_catalog_publishes_the_schemas_it_validates_with(osb: OSBClient) -> None:
    response = osb.catalog()
    assert response.status_code == 200
    services = response.json()["services"]
    published = yaml.safe_load((REPO / "catalog.yml").read_text())["services"]
    assert len(services) == 1
    service = services[0]
    assert service["name"] == "s3"
    assert service["tags"] == ["s3", "object-storage"]
    assert service["bindable"] and service["instances_retrievable"] and service["plan_updateable"]
    assert service["metadata"]["shareable"] is True
    assert [p["name"] for p in service["plans"]] == ["basic", "basic-public"]
    for plan, source in zip(service["plans"], published[0]["plans"], strict=True):
        assert plan["schemas"] == source["schemas"]
        assert plan["schemas"]["service_instance"]["create"]["parameters"]["$schema"].endswith("draft-04/schema#")
        assert not any(key.startswith("x-") for key in plan)


@pytest.mark.parametrize(
    "auth", [None, ("cc", "wrong"), ("wrong", "s3cr3t-broker-password"), ("", "")], ids=["none", "pw", "user", "empty"]
)
def test_auth_comes_first(broker: BrokerServer, auth: Any) -> None:
    # No auth and no version header: 401, not openbrokerapi's 400.
    response = requests.get(f"{broker.url}/v2/catalog", auth=auth, timeout=10)
    assert_osb_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_unknown_route_without_auth_is_401_and_health_needs_none(broker: BrokerServer) -> None:
    assert requests.get(f"{broker.url}/v2/nothing", timeout=10).status_code == 401
    health = requests.get(f"{broker.url}/health", timeout=10)
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}


@pytest.mark.parametrize("version", [None, "abc", "2", "1.0", "2.12", "3.0", "2.x"])
def test_bad_api_version_is_412(osb: OSBClient, version: str | None) -> None:
    headers = {"X-Broker-API-Version": version} if version else {}
    osb.session.headers.pop("X-Broker-API-Version")
    response = osb.request("GET", "/v2/catalog", headers=headers)
    assert_osb_error(response, 412, "X-Broker-API-Version" if version in (None, "abc", "2", "2.x") else "2.13")


def test_request_identity_is_echoed(osb: OSBClient) -> None:
    response = osb.request("GET", "/v2/catalog", headers={"X-Broker-API-Request-Identity": "req-42"})
    assert response.headers["X-Broker-API-Request-Identity"] == "req-42"
    error = osb.request("GET", "/v2/nothing", headers={"X-Broker-API-Request-Identity": "req-43"})
    assert error.headers["X-Broker-API-Request-Identity"] == "req-43"


def test_unknown_route_and_wrong_method_are_json(osb: OSBClient) -> None:
    assert_osb_error(osb.request("GET", "/v2/nothing"), 404)
    assert_osb_error(osb.request("POST", "/v2/catalog"), 405)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"service_id": "no-such-service"}, ["service_id", "no-such-service"]),
        ({"service_id": ""}, ["service_id"]),
        ({"plan_id": "no-such-plan"}, ["plan_id"]),
        ({"plan_id": None}, ["plan_id"]),
        ({"organization_guid": ""}, ["organization_guid"]),
        ({"space_guid": "  "}, ["space_guid"]),
        ({"organization_guid": None}, ["organization_guid"]),
        ({"context": {"organization_guid": "other"}}, ["organization_guid"]),
        (
            {"parameters": {"public_buckett": True}},
            ["'public_buckett'", "public_bucket, public_read_referers, require_tls, tags, versioning"],
        ),
        ({"parameters": {"versioning": "yes"}}, ["versioning", "true or false"]),
        ({"parameters": {"tags": {"s3-broker:plan-id": "x"}}}, ["tags"]),
        ({"parameters": {"tags": {f"k{n}": "v" for n in range(41)}}}, ["tags"]),
        ({"parameters": {"kms_key_arn": "alias/mine"}}, ["kms_key_arn"]),
        ({"parameters": {"cors_rules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]}}, ["cors_rules"]),
        ({"parameters": ["versioning"]}, ["JSON object"]),
    ],
)
def test_bad_provision_is_400_and_creates_nothing(
    osb: OSBClient, s3: Any, change: dict[str, Any], words: list[str]
) -> None:
    instance_id = new_id()
    body = {key: value for key, value in {**PROVISION_BODY, **change}.items() if value is not None}
    response = osb.request("PUT", f"/v2/service_instances/{instance_id}", json=body)
    assert_osb_error(response, 400, *words)
    assert no_bucket(s3, instance_id)


def test_plan_of_another_service_is_400(backend: Backend, s3: Any, tmp_path: Path) -> None:
    catalog = yaml.safe_load((REPO / "catalog.yml").read_text())
    second = {**catalog["services"][0], "id": "0f0e0d0c-0b0a-4909-8807-060504030201", "name": "s3-other"}
    second["plans"] = [
        {**plan, "id": plan["id"][:-2] + "99", "name": plan["name"] + "-other"} for plan in second["plans"]
    ]
    catalog["services"].append(second)
    path = tmp_path / "catalog.yml"
    path.write_text(yaml.safe_dump(catalog))
    with BrokerServer(backend.settings(catalog_path=path)) as server:
        instance_id = new_id()
        response = server.osb().provision(instance_id, plan_id=second["plans"][0]["id"])
        assert_osb_error(response, 400, "is not a plan of service")
        assert no_bucket(s3, instance_id)


@pytest.mark.parametrize(
    ("data", "content_type", "words"),
    [
        ("{not json", "application/json", ["not valid JSON"]),
        ('["a list"]', "application/json", ["JSON object"]),
        ("", "application/json", ["not valid JSON"]),
        ('{"service_id": "x"}', "text/plain", ["Content-Type"]),
    ],
)
def test_malformed_bodies_are_400(osb: OSBClient, s3: Any, data: str, content_type: str, words: list[str]) -> None:
    instance_id = new_id()
    response = osb.request(
        "PUT", f"/v2/service_instances/{instance_id}", data=data, headers={"Content-Type": content_type}
    )
    assert_osb_error(response, 400, *words)
    assert no_bucket(s3, instance_id)


@pytest.mark.parametrize("instance_id", ["UPPER-CASE-ID", "a" * 60, "has_underscore", "-leading-dash"])
def test_instance_ids_that_cannot_name_a_bucket_are_400(osb: OSBClient, instance_id: str) -> None:
    assert_osb_error(osb.provision(instance_id), 400, "instance_id")


def test_binding_id_that_cannot_name_a_user_is_400(osb: OSBClient) -> None:
    instance_id = new_id()
    assert osb.provision(instance_id).status_code == 201
    assert_osb_error(osb.bind(instance_id, "x" * 70), 400, "binding_id")
    assert_osb_error(osb.bind(instance_id, "bad/slash"), 404)  # not a route at all


def test_originating_identity_must_be_well_formed(osb: OSBClient) -> None:
    response = osb.request("GET", "/v2/catalog", headers={"X-Broker-API-Originating-Identity": "cloudfoundry !!!"})
    assert_osb_error(response, 400, "Originating-Identity")


@pytest.mark.parametrize(
    "query",
    [{}, {"service_id": SERVICE_ID}, {"plan_id": BASIC}, {"service_id": "nope", "plan_id": BASIC}],
    ids=["none", "no-plan", "no-service", "bad-service"],
)
def test_delete_needs_valid_service_and_plan(osb: OSBClient, s3: Any, query: dict[str, str]) -> None:
    instance_id = new_id()
    assert osb.provision(instance_id).status_code == 201
    assert_osb_error(osb.request("DELETE", f"/v2/service_instances/{instance_id}", params=query), 400)
    binding = osb.request("DELETE", f"/v2/service_instances/{instance_id}/service_bindings/{new_id()}", params=query)
    assert_osb_error(binding, 400)
    assert not no_bucket(s3, instance_id)


def test_update_with_unknown_parameter_changes_nothing(osb: OSBClient, s3: Any) -> None:
    instance_id = new_id()
    assert osb.provision(instance_id).status_code == 201
    assert_osb_error(osb.update(instance_id, parameters={"versioning": True, "colour": "red"}), 400, "'colour'")
    assert s3.get_bucket_versioning(Bucket=f"cf-s3-{instance_id}").get("Status") is None


def test_update_to_plan_of_unknown_id_is_400(osb: OSBClient) -> None:
    instance_id = new_id()
    assert osb.provision(instance_id).status_code == 201
    assert_osb_error(osb.update(instance_id, plan_id="no-such-plan"), 400, "plan_id")
    assert osb.update(instance_id, plan_id=BASIC_PUBLIC).status_code == 200


def test_provision_failing_part_way_leaves_no_bucket(backend: Backend, s3: Any) -> None:
    identity = backend.restricted_broker("broker-without-tagging", {"s3:PutBucketTagging"})
    with BrokerServer(backend.settings(identity)) as server:
        instance_id = new_id()
        response = server.osb().provision(instance_id, parameters={"versioning": True})
        body = assert_osb_error(response, 502, "tag bucket", "broker policy")
        assert "Traceback" not in body["description"]
        assert no_bucket(s3, instance_id)


def test_last_binding_operation(osb: OSBClient) -> None:
    instance_id, binding_id = new_id(), new_id()
    assert osb.provision(instance_id).status_code == 201
    path = f"/v2/service_instances/{instance_id}/service_bindings/{binding_id}/last_operation"
    assert_osb_error(osb.request("GET", path), 404, binding_id)
    assert osb.bind(instance_id, binding_id).status_code == 201
    assert osb.request("GET", path).json()["state"] == "succeeded"
