"""Limits on IAM users: one tenant cannot use up the account's users for everyone.

AWS allows 5,000 IAM users per account, not adjustable, shared by every tenant of the platform
(and anything else in the account): MAX_BINDINGS_PER_INSTANCE bounds one instance, MAX_IAM_USERS
the account, counted with iam:GetAccountSummary.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from broker.operations.binding_limits import users_ceiling
from broker.settings import SettingsError, from_env
from testing.clients import user_exists
from testing.harness import Backend, BrokerServer, new_id

PER_INSTANCE = 3


@pytest.fixture(scope="module")
def few_bindings_broker(backend: Backend) -> Iterator[BrokerServer]:
    with BrokerServer(backend.settings(max_bindings_per_instance=PER_INSTANCE)) as server:
        yield server


def test_past_max_bindings_per_instance_a_bind_is_refused_and_makes_no_user(
    few_bindings_broker: BrokerServer, iam: Any
) -> None:
    osb = few_bindings_broker.osb()
    instance = new_id()
    assert osb.provision(instance).status_code == 201
    bindings = [new_id() for _ in range(PER_INSTANCE)]
    for binding in bindings:
        assert osb.bind(instance, binding).status_code == 201
    refused_id = new_id()
    refused = osb.bind(instance, refused_id)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "LimitExceeded"
    description = refused.json()["description"]
    assert "MAX_BINDINGS_PER_INSTANCE" in description and str(PER_INSTANCE) in description
    assert "unbind" in description.lower() or "delete" in description.lower()
    assert not user_exists(iam, refused_id)
    assert osb.bind(instance, bindings[0]).status_code == 200  # a repeat of an existing binding is no new user
    assert osb.unbind(instance, bindings[0]).status_code == 200
    assert osb.bind(instance, refused_id).status_code == 201  # room again


def account_users(iam: Any) -> int:
    return iam.get_account_summary()["SummaryMap"]["Users"]


def test_past_max_iam_users_a_bind_is_refused(backend: Backend, iam: Any) -> None:
    with BrokerServer(backend.settings(max_iam_users=account_users(iam) + 1)) as server:
        osb = server.osb()
        instance = new_id()
        assert osb.provision(instance).status_code == 201
        assert osb.bind(instance, new_id()).status_code == 201  # the last user the ceiling allows
        refused_id = new_id()
        refused = osb.bind(instance, refused_id)  # counted without asking IAM again: the summary is cached
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == "LimitExceeded"
        assert "MAX_IAM_USERS" in refused.json()["description"]
        assert not user_exists(iam, refused_id)


def test_the_ceiling_is_the_lower_of_the_setting_and_the_accounts_quota() -> None:
    assert users_ceiling(4500, 5000) == 4500
    assert users_ceiling(4500, 1000) == 1000
    assert users_ceiling(4500, None) == 4500


def test_metrics_show_the_accounts_iam_users_and_quota(broker: BrokerServer, iam: Any) -> None:
    auth = (broker.settings.broker_username, broker.settings.broker_password)
    text = requests.get(f"{broker.url}/metrics", auth=auth, timeout=10).text
    values = {
        line.split()[0]: float(line.split()[1]) for line in text.splitlines() if line and not line.startswith("#")
    }
    assert values["s3_broker_account_iam_users_quota"] == 5000
    assert values["s3_broker_iam_users_ceiling"] == 4500
    assert abs(values["s3_broker_account_iam_users"] - account_users(iam)) <= 5  # cached briefly


def test_limits_are_settings() -> None:
    base = {"BROKER_USERNAME": "u", "BROKER_PASSWORD": "p"}
    settings = from_env(base)
    assert (settings.max_bindings_per_instance, settings.max_iam_users) == (50, 4500)
    changed = from_env({**base, "MAX_BINDINGS_PER_INSTANCE": "200", "MAX_IAM_USERS": "4900"})
    assert (changed.max_bindings_per_instance, changed.max_iam_users) == (200, 4900)
    for name, wrong in [
        ("MAX_BINDINGS_PER_INSTANCE", "0"),
        ("MAX_BINDINGS_PER_INSTANCE", "many"),
        ("MAX_IAM_USERS", "5001"),
        ("MAX_IAM_USERS", "-1"),
    ]:
        with pytest.raises(SettingsError, match=name):
            from_env({**base, name: wrong})
