"""Inputs a fuzzer found: an empty tag value through an instance's whole life, and strings holding
characters S3's XML bodies (and AWS's JSON ones) cannot carry, refused before any AWS call."""

from __future__ import annotations

from typing import Any

import pytest

from broker.errors import InvalidParameters
from broker.model.parameters import check_characters
from testing.buckets import bucket, versioned_bucket_with_leftovers
from testing.clients import s3_with
from testing.harness import BASIC, BASIC_PUBLIC, SERVICE_ID, Backend, BrokerServer, OSBClient, new_id


def test_an_empty_tag_value_lives_through_every_call(osb: OSBClient, s3: Any) -> None:
    """The local backend leaves the empty <Value> out of GetBucketTagging (AWS sends it empty)."""
    instance, binding = new_id(), new_id()
    assert osb.provision(instance, BASIC, {"tags": {"team": "", "cost-centre": "42"}}).status_code == 201
    again = osb.provision(instance, BASIC, {"tags": {"team": "", "cost-centre": "42"}})
    assert again.status_code == 200, again.text
    shown = osb.get_instance(instance)
    assert shown.status_code == 200, shown.text
    assert shown.json()["parameters"]["tags"] == {"team": "", "cost-centre": "42"}
    updated = osb.update(instance, parameters={"versioning": True, "delete_objects_with_service": True})
    assert updated.status_code == 200, updated.text
    bound = osb.bind(instance, binding)
    assert bound.status_code == 201, bound.text
    s3_with(bound.json()["credentials"]).put_object(Bucket=bucket(instance), Key="k", Body=b"x")
    s3.delete_object(Bucket=bucket(instance), Key="k")
    assert osb.unbind(instance, binding).status_code == 200
    assert osb.update(instance, parameters={"tags": {"team": ""}}).status_code == 200
    assert osb.get_instance(instance).json()["parameters"]["tags"] == {"team": ""}
    gone = osb.deprovision(instance)
    assert gone.status_code == 200, gone.text


def test_an_empty_tag_value_survives_an_asynchronous_deletion(backend: Backend, s3: Any) -> None:
    """The deleting mark is written over the tags read back: an empty value must go back as ""."""
    with BrokerServer(backend.settings(deprovision_sync_max_objects=1)) as server:
        osb = server.osb()
        instance = versioned_bucket_with_leftovers(osb, s3, files=2)
        assert osb.update(instance, parameters={"tags": {"team": ""}}).status_code == 200
        params = {"service_id": SERVICE_ID, "plan_id": BASIC, "accepts_incomplete": "true"}
        started = osb.request("DELETE", f"/v2/service_instances/{instance}", params=params)
        assert started.status_code == 202, started.text
        poll = {"service_id": SERVICE_ID, "plan_id": BASIC, "operation": "deprovision"}
        states = []
        while not states or (states[-1] == "in progress" and len(states) < 10):
            polled = osb.request("GET", f"/v2/service_instances/{instance}/last_operation", params=poll)
            assert polled.status_code == 200, polled.text
            states.append(polled.json()["state"])
        assert states[-1] == "succeeded", states
        assert bucket(instance) not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


XML_FORBIDDEN = ["\u0003", "\ud800", "\ufffe", "\x00"]


@pytest.mark.parametrize("character", XML_FORBIDDEN, ids=["U+0003", "U+D800", "U+FFFE", "U+0000"])
@pytest.mark.parametrize(
    ("plan", "parameters", "named"),
    [
        (BASIC, lambda c: {"cors_rules": [{"AllowedOrigins": [f"https://a{c}"], "AllowedMethods": ["GET"]}]}, "cors"),
        (BASIC, lambda c: {"cors_rules": [{"ID": c, "AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]}, "cors"),
        (
            BASIC,
            lambda c: {"cors_rules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "ExposeHeaders": [c]}]},
            "cors",
        ),
        (BASIC_PUBLIC, lambda c: {"website": {"index_document": f"index{c}.html"}}, "website"),
        (BASIC_PUBLIC, lambda c: {"website": {"index_document": "i.html", "error_document": f"e{c}"}}, "website"),
    ],
    ids=["origin", "rule-id", "expose-header", "index-document", "error-document"],
)
def test_a_character_xml_forbids_is_a_400_naming_the_parameter_before_any_aws_call(
    osb: OSBClient, aws_calls: list[str], character: str, plan: str, parameters: Any, named: str
) -> None:
    instance = new_id()
    refused = osb.provision(instance, plan, parameters(character))
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "InvalidParameters"
    assert named in refused.json()["description"] and "U+" in refused.json()["description"]
    assert aws_calls == []


@pytest.mark.parametrize("character", XML_FORBIDDEN, ids=["U+0003", "U+D800", "U+FFFE", "U+0000"])
def test_an_update_with_such_a_character_is_refused_before_any_aws_call(
    osb: OSBClient, instance: str, aws_calls: list[str], character: str
) -> None:
    cors = [{"AllowedOrigins": [f"https://{character}.example.org"], "AllowedMethods": ["GET"]}]
    refused = osb.update(instance, parameters={"cors_rules": cors})
    assert refused.status_code == 400, refused.text
    assert "cors_rules.0.AllowedOrigins.0" in refused.json()["description"]
    assert aws_calls == []


def test_a_bind_with_such_a_character_is_refused_before_any_aws_call(
    osb: OSBClient, instance: str, aws_calls: list[str]
) -> None:
    refused = osb.bind(instance, new_id(), {"external_buckets": ["\ud800"]})
    assert refused.status_code == 400, refused.text
    assert aws_calls == []


def test_the_character_check_names_where_and_lets_tabs_line_breaks_and_astral_characters_pass() -> None:
    check_characters({"cors_rules": [{"AllowedHeaders": ["a\tb\r\n", "\U0001f600", "\ud7ff\ue000\ufffd"]}]})
    with pytest.raises(InvalidParameters, match=r"'tags\.bad\x7fkey\x01'.*U\+0001"):
        check_characters({"tags": {"bad\x7fkey\x01": "v"}})
    with pytest.raises(InvalidParameters, match=r"'cors_rules\.1\.AllowedOrigins\.0'.*U\+FFFF"):
        check_characters({"cors_rules": [{}, {"AllowedOrigins": ["\uffff"]}]})
