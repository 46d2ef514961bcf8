"""AWS call number k of every operation fails (for every k), in each way AWS can fail; the Cloud
Controller then does what it does (orphan mitigation for a failed create, a retry), and AWS must
hold exactly the state of a successful operation or of none."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from testing.buckets import bucket_exists
from testing.clients import s3_with, user_exists
from testing.faults import FAULT_KINDS, CallCounter, counting
from testing.harness import BASIC_PUBLIC, Backend, BrokerServer, OSBClient, new_id

PARAMETERS = {
    "versioning": True,
    "tags": {"team": "a"},
    "cors_rules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}],
}


@pytest.fixture(scope="module")
def server(backend: Backend) -> Iterator[BrokerServer]:
    with BrokerServer(backend.settings()) as server:
        yield server


def bucket_state(s3: Any, instance_id: str) -> str:
    """'none', 'private' or 'public' for a fully provisioned bucket, or 'half' for anything else."""
    if not bucket_exists(s3, instance_id):
        return "none"
    bucket = f"cf-s3-{instance_id}"
    try:
        tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    except s3.exceptions.ClientError:
        return "half"
    if tags.get("s3-broker:instance-id") != instance_id or tags.get("team") != "a":
        return "half"
    versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    cors = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    if versioning != "Enabled" or len(cors) != 1:
        return "half"
    try:
        s3.get_bucket_policy(Bucket=bucket)
        public = True
    except s3.exceptions.ClientError:
        public = False
    if public != ("public=on" in tags["s3-broker:options"].split()):
        return "half"
    return "public" if public else "private"


@dataclass
class Scenario:
    """An operation as the Cloud Controller drives it, with what AWS must hold before and after."""

    name: str
    prepare: Callable[[OSBClient], dict[str, str]]
    request: Callable[[OSBClient, dict[str, str]], Any]
    undo: Callable[[OSBClient, dict[str, str]], Any] | None  # orphan mitigation after a failed create
    state: Callable[[Any, Any, dict[str, str]], str]
    done: str
    # A delete that fails part-way may leave less than it found (a user without keys, users without
    # their bucket): the platform retries deletes until they succeed, and the retry finishes it.
    part_way: tuple[str, ...] = ()


def provisioned(osb: OSBClient, plan: str = "basic") -> dict[str, str]:
    ids = {"instance": new_id()}
    response = osb.provision(
        ids["instance"], parameters=PARAMETERS, **({"plan_id": BASIC_PUBLIC} if plan == "public" else {})
    )
    assert response.status_code == 201, response.text
    return ids


def bound(osb: OSBClient) -> dict[str, str]:
    ids = provisioned(osb)
    ids["binding"] = new_id()
    assert osb.bind(ids["instance"], ids["binding"]).status_code == 201
    return ids


def binding_state(s3: Any, iam: Any, ids: dict[str, str]) -> str:
    if not user_exists(iam, ids["binding"]):
        return "none"
    keys = iam.list_access_keys(UserName=f"cf-s3-{ids['binding']}")["AccessKeyMetadata"]
    return "bound" if keys else "half"


SCENARIOS = [
    Scenario(
        "provision",
        lambda osb: {"instance": new_id()},
        lambda osb, ids: osb.provision(ids["instance"], parameters=PARAMETERS),
        lambda osb, ids: osb.deprovision(ids["instance"]),
        lambda s3, iam, ids: bucket_state(s3, ids["instance"]),
        "private",
    ),
    Scenario(
        "provision public",
        lambda osb: {"instance": new_id()},
        lambda osb, ids: osb.provision(ids["instance"], BASIC_PUBLIC, parameters=PARAMETERS),
        lambda osb, ids: osb.deprovision(ids["instance"], BASIC_PUBLIC),
        lambda s3, iam, ids: bucket_state(s3, ids["instance"]),
        "public",
    ),
    Scenario(
        "update to public",
        provisioned,
        lambda osb, ids: osb.update(ids["instance"], parameters={"public_bucket": True}),
        None,
        lambda s3, iam, ids: bucket_state(s3, ids["instance"]),
        "public",
    ),
    Scenario(
        "bind",
        lambda osb: {**provisioned(osb), "binding": new_id()},
        lambda osb, ids: osb.bind(ids["instance"], ids["binding"]),
        lambda osb, ids: osb.unbind(ids["instance"], ids["binding"]),
        binding_state,
        "bound",
    ),
    Scenario(
        "unbind",
        bound,
        lambda osb, ids: osb.unbind(ids["instance"], ids["binding"]),
        None,
        binding_state,
        "none",
        part_way=("half",),
    ),
    Scenario(
        "deprovision with a binding left",
        bound,
        lambda osb, ids: osb.deprovision(ids["instance"]),
        None,
        lambda s3, iam, ids: (
            "none" if bucket_state(s3, ids["instance"]) == "none" and binding_state(s3, iam, ids) == "none" else "some"
        ),
        "none",
    ),
]


def calls_of(server: BrokerServer, scenario: Scenario) -> int:
    osb = server.osb()
    ids = scenario.prepare(osb)
    with counting(server, CallCounter()) as counter:
        assert scenario.request(osb, ids).status_code < 300
    return len(counter.calls)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_every_aws_call_failing_leaves_all_or_nothing(
    server: BrokerServer, s3: Any, iam: Any, scenario: Scenario
) -> None:
    osb = server.osb()
    cases = 0
    calls = calls_of(server, scenario)  # once: each fault kind fails each of the same calls in turn
    for fault in FAULT_KINDS:
        for k in range(1, calls + 1):
            ids = scenario.prepare(osb)
            before = scenario.state(s3, iam, ids)
            with counting(server, CallCounter(fail_at=k, fault=fault)):
                failed = scenario.request(osb, ids)
            where = f"{scenario.name}: call {k} {fault} -> {failed.status_code} {failed.text[:200]}"
            assert failed.status_code < 500 or "error" in failed.json(), where
            if failed.status_code >= 300 and scenario.undo:  # the platform's orphan mitigation
                assert scenario.undo(osb, ids).status_code in (200, 410), where
                assert scenario.state(s3, iam, ids) == before, where
            else:
                assert scenario.state(s3, iam, ids) in (before, scenario.done, *scenario.part_way), where
            retried = scenario.request(osb, ids)  # the platform (or the user) tries again
            assert retried.status_code in (200, 201, 410), f"{where}; retry {retried.status_code} {retried.text}"
            assert scenario.state(s3, iam, ids) == scenario.done, where
            if scenario.name == "bind":
                credentials = retried.json()["credentials"]
                assert s3_with(credentials).list_objects_v2(Bucket=credentials["bucket"])["KeyCount"] == 0
            cases += 1
    print(f"{scenario.name}: {cases} fault cases")
    assert cases >= len(FAULT_KINDS)
