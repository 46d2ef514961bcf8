"""A deprovision with many binding users left never wedges a worker, and a worker whose requests
cannot progress does not look healthy.

The users left behind are made with the admin key under the instance's IAM path, as a failed
unbind, a service key the platform lost track of or another client would leave them.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from broker.aws.clients import CONNECT_TIMEOUT, READ_TIMEOUT
from broker.http.in_flight import stuck_after
from testing.harness import BASIC, SERVICE_ID, Backend, BrokerServer, OSBClient, new_id
from testing.processes import served_settings
from testing.procfile import procfile_server

# Its tests share a server that a module fixture starts: under xdist one worker runs them all.
pytestmark = pytest.mark.xdist_group("wedge")

POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
AUTH = ("cc", "wedge-test-password")


def leave_users(iam: Any, instance_id: str, count: int) -> list[str]:
    """`count` binding users with a policy and a key each under the instance's path, as a bind makes them."""

    def make(_: int) -> str:
        name = f"cf-s3-{new_id()}"
        iam.create_user(UserName=name, Path=f"/cf-s3-broker/{instance_id}/")
        iam.put_user_policy(UserName=name, PolicyName="s3-bucket-access", PolicyDocument=json.dumps(POLICY))
        iam.create_access_key(UserName=name)
        return name

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(make, range(count)))


def users_left(iam: Any, instance_id: str) -> list[str]:
    pages = iam.get_paginator("list_users").paginate(PathPrefix=f"/cf-s3-broker/{instance_id}/")
    return [user["UserName"] for page in pages for user in page["Users"]]


def deprovision(url: str, auth: tuple[str, str], instance_id: str, timeout: float) -> requests.Response:
    params = {"service_id": SERVICE_ID, "plan_id": BASIC, "accepts_incomplete": "true"}
    headers = {"X-Broker-API-Version": "2.17"}
    return requests.delete(
        f"{url}/v2/service_instances/{instance_id}", params=params, auth=auth, headers=headers, timeout=timeout
    )


def poll_until_gone(url: str, auth: tuple[str, str], instance_id: str, within: float) -> list[str]:
    """Poll last_operation as the Cloud Controller does until it answers 410; the states seen."""
    params = {"service_id": SERVICE_ID, "plan_id": BASIC, "operation": "deprovision"}
    headers = {"X-Broker-API-Version": "2.17"}
    states: list[str] = []
    give_up = time.monotonic() + within
    while time.monotonic() < give_up:
        answer = requests.get(
            f"{url}/v2/service_instances/{instance_id}/last_operation",
            params=params,
            auth=auth,
            headers=headers,
            timeout=60,
        )
        if answer.status_code == 410:
            return states
        assert answer.status_code == 200, answer.text
        states.append(answer.json()["state"])
        assert states[-1] == "in progress", answer.text
        time.sleep(0.2)
    raise AssertionError(f"the deprovision did not finish within {within} s: {states}")


def test_a_deprovision_with_more_users_left_than_aws_threads_answers(
    broker: BrokerServer, osb: OSBClient, iam: Any
) -> None:
    """16 users filled the shared pool with deletions that each waited on work queued behind them."""
    instance = new_id()
    assert osb.provision(instance).status_code == 201
    leave_users(iam, instance, 20)
    answer = deprovision(broker.url, osb.session.auth, instance, timeout=broker.settings.request_deadline + 15)
    assert answer.status_code in (200, 202), answer.text
    if answer.status_code == 202:
        poll_until_gone(broker.url, osb.session.auth, instance, within=60)
    assert users_left(iam, instance) == []
    assert osb.catalog().status_code == 200  # the server still serves


SHORT_DEADLINE = 2.0


@pytest.fixture(scope="module")
def short_deadline_broker(backend: Backend) -> Iterator[BrokerServer]:
    with BrokerServer(backend.settings(request_deadline=SHORT_DEADLINE)) as server:
        yield server


class SlowIam:
    """Every DeleteUser takes `seconds` more, so that deleting many users outlasts a request."""

    def __init__(self, server: BrokerServer, operation: str, seconds: float) -> None:
        self.iam = server.app.extensions["s3_broker.aws"].iam
        self.operation, self.seconds = operation, seconds

    def __call__(self, event_name: str, **_: Any) -> None:
        if event_name.endswith("." + self.operation):
            time.sleep(self.seconds)

    def __enter__(self) -> SlowIam:
        self.iam.meta.events.register("before-send", self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.iam.meta.events.unregister("before-send", self)


def test_users_that_take_longer_than_a_request_to_delete_go_asynchronously(
    short_deadline_broker: BrokerServer, iam: Any
) -> None:
    server = short_deadline_broker
    osb = server.osb()
    instance = new_id()
    assert osb.provision(instance).status_code == 201
    leave_users(iam, instance, 60)
    with SlowIam(server, "DeleteUser", 0.25):
        started = time.monotonic()
        answer = deprovision(server.url, osb.session.auth, instance, timeout=30)
        took = time.monotonic() - started
        assert answer.status_code == 202, answer.text
        assert answer.json()["operation"] == "deprovision"
        assert took < SHORT_DEADLINE + CONNECT_TIMEOUT + READ_TIMEOUT
        states = poll_until_gone(server.url, osb.session.auth, instance, within=90)
    assert states  # at least one poll found users still being deleted
    assert users_left(iam, instance) == []


def test_without_accepts_incomplete_users_left_over_ask_for_it_and_a_retry_finishes(
    short_deadline_broker: BrokerServer, iam: Any
) -> None:
    server = short_deadline_broker
    osb = server.osb()
    instance = new_id()
    assert osb.provision(instance).status_code == 201
    leave_users(iam, instance, 60)
    with SlowIam(server, "DeleteUser", 0.25):
        answer = osb.deprovision(instance)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "AsyncRequired"
    assert users_left(iam, instance)
    answer = deprovision(server.url, osb.session.auth, instance, timeout=30)
    assert answer.status_code in (200, 202), answer.text
    if answer.status_code == 202:
        poll_until_gone(server.url, osb.session.auth, instance, within=60)
    assert users_left(iam, instance) == []


@pytest.fixture(scope="module")
def procfile_port(backend: Backend) -> Iterator[int]:
    """The Procfile's gunicorn (two gevent workers), pointed at the test backend."""
    with procfile_server(served_settings(backend, AUTH)) as port:
        yield port


def test_a_deprovision_with_200_users_left_finishes_and_both_workers_keep_serving(
    procfile_port: int, backend: Backend, iam: Any
) -> None:
    url = f"http://127.0.0.1:{procfile_port}"
    headers = {"X-Broker-API-Version": "2.17"}
    instance = new_id()
    body = {"service_id": SERVICE_ID, "plan_id": BASIC, "organization_guid": new_id(), "space_guid": new_id()}
    made = requests.put(f"{url}/v2/service_instances/{instance}", json=body, auth=AUTH, headers=headers, timeout=60)
    assert made.status_code == 201, made.text
    leave_users(iam, instance, 200)
    answers: list[int] = []

    def serve_meanwhile() -> None:
        for _ in range(40):  # the catalog and health, over fresh connections, so both workers answer some
            answers.append(requests.get(f"{url}/v2/catalog", auth=AUTH, headers=headers, timeout=10).status_code)
            answers.append(requests.get(f"{url}/health", timeout=10).status_code)

    meanwhile = [threading.Thread(target=serve_meanwhile) for _ in range(4)]
    for thread in meanwhile:
        thread.start()
    answer = deprovision(url, AUTH, instance, timeout=60)
    assert answer.status_code in (200, 202), answer.text
    if answer.status_code == 202:
        poll_until_gone(url, AUTH, instance, within=120)
    for thread in meanwhile:
        thread.join()
    assert answers == [200] * 320
    assert users_left(iam, instance) == []
    # Every key went with its user: none of the 200 is left in the account.
    assert not [u for u in iam.list_users()["Users"] if u["Path"].startswith(f"/cf-s3-broker/{instance}/")]


def test_health_is_503_while_a_request_runs_far_past_its_deadline(short_deadline_broker: BrokerServer) -> None:
    """A request that cannot progress (here an AWS call that never returns, a thread the deadline cannot
    stop: the request gives up at its deadline, the pool thread running the call stays wedged) makes
    /health fail, so the platform restarts the process; once it ends, /health is 200 again."""
    server = short_deadline_broker
    osb = server.osb()
    release = threading.Event()

    class Wedge(SlowIam):
        def __call__(self, event_name: str, **_: Any) -> None:
            if event_name.endswith(".GetUser"):
                release.wait(120)

    with Wedge(server, "GetUser", 0):
        stuck = threading.Thread(target=lambda: osb.unbind(new_id(), new_id()))
        stuck.start()
        try:
            assert requests.get(f"{server.url}/health", timeout=5).status_code == 200
            give_up = time.monotonic() + stuck_after(SHORT_DEADLINE) + 10
            health = requests.get(f"{server.url}/health", timeout=5)
            while health.status_code == 200 and time.monotonic() < give_up:
                time.sleep(0.5)
                health = requests.get(f"{server.url}/health", timeout=5)
            assert health.status_code == 503
            assert "past its deadline" in health.json()["description"]
        finally:
            release.set()
            stuck.join()
    # The request gave up at its deadline; the pool task it left wedged ends once released, and then
    # the worker is healthy again.
    recovered = time.monotonic() + 10
    while requests.get(f"{server.url}/health", timeout=5).status_code != 200 and time.monotonic() < recovered:
        time.sleep(0.2)
    assert requests.get(f"{server.url}/health", timeout=5).status_code == 200
