"""The embedded local AWS: a moto server on loopback with IAM enforcement on, everything in memory.

The broker talks to it as an IAM user that holds only the broker policy (broker-policy.json), as
operators ship it: the gate in front of moto judges it as AWS does, conditions and all, so what
works here needs no more rights than operators grant on real AWS.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import secrets
import string
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import boto3

from broker.policy import account_policies
from broker.policy.account_policies import AccountFacts, facts_for
from broker.settings import Settings

BROKER_USER = "s3-service-broker"
BOOTSTRAP_KEY = "bootstrap"  # the gate lets any key through while its enforcement is off
# The local backend's admin API (moto's /moto-api and the gate's /_local) answers only this token.
ADMIN_TOKEN_ENV = "LOCAL_AWS_ADMIN_TOKEN"
ADMIN_TOKEN_HEADER = "X-Local-Admin-Token"


@dataclass(frozen=True)
class LocalIdentity:
    endpoint: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    permissions_boundary_arn: str


def start_moto(port: int) -> Any:
    """Start the local AWS in a thread of this process, on 127.0.0.1 only, with IAM enforcement off for now.

    Raises SettingsError naming LOCAL_AWS_PORT when the port is taken. moto is imported here,
    never at module level: on Cloud Foundry it is not installed.
    """
    from broker.local.server import start_in_thread

    return start_in_thread(port)


def admin_call(endpoint: str, path: str, body: bytes | None = None) -> str:
    """A call to the local backend's admin API with the token from the environment."""
    request = urllib.request.Request(
        f"{endpoint}{path}",
        data=body,
        headers={"Content-Type": "text/plain", ADMIN_TOKEN_HEADER: os.environ.get(ADMIN_TOKEN_ENV, "")},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def set_enforcement(endpoint: str, enforce: bool) -> None:
    """Switch the gate's enforcement on (every request judged as AWS would) or off (anything goes)."""
    admin_call(endpoint, "/moto-api/reset-auth", b"0" if enforce else b"inf")


def set_clock(endpoint: str, moment: datetime.datetime | None) -> None:
    """Set the gate's clock (aws:CurrentTime, presigned expiry) to `moment` (UTC), or back to now with None."""
    moment = moment or datetime.datetime.now(datetime.UTC)
    admin_call(endpoint, "/_local/clock", moment.strftime("%Y-%m-%dT%H:%M:%SZ").encode())


def bootstrap_client(service: str, endpoint: str, region: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=BOOTSTRAP_KEY,
        aws_secret_access_key=BOOTSTRAP_KEY,
    )


def local_facts(endpoint: str, settings: Settings) -> AccountFacts:
    """The account facts of the local backend (moto's made-up account), as an operator's would be."""
    account_id = bootstrap_client("sts", endpoint, settings.aws_region).get_caller_identity()["Account"]
    return facts_for(settings, account_id)


def create_broker_identity(endpoint: str, settings: Settings, *, user_name: str = BROKER_USER) -> LocalIdentity:
    """As an operator does on AWS: the binding users' boundary, then the broker's user with only the
    broker policy, and a key for it (enforcement off)."""
    facts = local_facts(endpoint, settings)
    iam = bootstrap_client("iam", endpoint, settings.aws_region)
    boundary = facts.permissions_boundary_arn
    # A second broker identity on the same backend (the tests make several) finds the boundary there.
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_policy(
            PolicyName=boundary.rsplit("/", 1)[1], PolicyDocument=json.dumps(account_policies.boundary_policy(facts))
        )
    iam.create_user(UserName=user_name)
    iam.put_user_policy(
        UserName=user_name,
        PolicyName="s3-service-broker",
        PolicyDocument=json.dumps(account_policies.broker_policy(facts)),
    )
    key = iam.create_access_key(UserName=user_name)["AccessKey"]
    return LocalIdentity(endpoint, key["AccessKeyId"], key["SecretAccessKey"], boundary)


def made_up_secret(length: int = 24) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))
