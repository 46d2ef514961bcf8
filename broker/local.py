"""The embedded local AWS: a moto server on loopback with IAM enforcement on, everything in memory.

The broker talks to it as an IAM user that holds only the broker policy (broker-policy.json),
so what works here needs no more rights than operators grant on real AWS.
"""

from __future__ import annotations

import json
import secrets
import string
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

BROKER_POLICY_TEMPLATE = Path(__file__).resolve().parent / "broker-policy.json"
BROKER_USER = "s3-service-broker"
BOOTSTRAP_KEY = "bootstrap"  # moto accepts any key while IAM enforcement is off


@dataclass(frozen=True)
class LocalIdentity:
    endpoint: str
    access_key_id: str
    secret_access_key: str = field(repr=False)


def broker_policy(bucket_prefix: str, iam_user_path: str, iam_user_prefix: str) -> dict[str, Any]:
    """The broker's own IAM policy with the operator's naming settings filled in."""
    text = BROKER_POLICY_TEMPLATE.read_text()
    for name, value in (
        ("BUCKET_PREFIX", bucket_prefix),
        ("IAM_USER_PATH", iam_user_path),
        ("IAM_USER_PREFIX", iam_user_prefix),
    ):
        text = text.replace("${" + name + "}", value)
    return json.loads(text)


def widened_for_moto(policy: dict[str, Any]) -> dict[str, Any]:
    """The broker policy as moto needs it to allow what real AWS allows with the original.

    moto checks IAM actions against the resource "*", never a user's ARN, so IAM statements get
    Resource "*". moto checks DeleteObjects (the batch call) against the bucket's ARN, not each
    object's, so object statements also name the buckets. The rest stays as operators get it.
    """
    statements = []
    for statement in policy["Statement"]:
        if all(action.startswith("iam:") for action in statement["Action"]):
            statement = {**statement, "Resource": "*"}
        elif statement["Resource"].endswith("/*"):
            statement = {**statement, "Resource": [statement["Resource"], statement["Resource"][: -len("/*")]]}
        statements.append(statement)
    return {**policy, "Statement": statements}


def start_moto(port: int) -> Any:
    """Start the local AWS in a thread of this process, on 127.0.0.1 only, with IAM enforcement off for now.

    Raises SettingsError naming LOCAL_AWS_PORT when the port is taken. moto is imported here,
    never at module level: on Cloud Foundry it is not installed.
    """
    from broker.local_server import start_in_thread

    return start_in_thread(port)


def set_enforcement(endpoint: str, enforce: bool) -> None:
    """Switch moto's IAM enforcement on (every request must be signed by a known user) or off."""
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=b"0" if enforce else b"inf",
        headers={"Content-Type": "text/plain"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def create_broker_identity(
    endpoint: str, region: str, *, bucket_prefix: str, iam_user_path: str, iam_user_prefix: str
) -> LocalIdentity:
    """Make the broker's IAM user with only the broker policy, and a key for it (enforcement off)."""
    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=BOOTSTRAP_KEY,
        aws_secret_access_key=BOOTSTRAP_KEY,
    )
    iam.create_user(UserName=BROKER_USER)
    iam.put_user_policy(
        UserName=BROKER_USER,
        PolicyName="s3-service-broker",
        PolicyDocument=json.dumps(widened_for_moto(broker_policy(bucket_prefix, iam_user_path, iam_user_prefix))),
    )
    key = iam.create_access_key(UserName=BROKER_USER)["AccessKey"]
    return LocalIdentity(endpoint, key["AccessKeyId"], key["SecretAccessKey"])


def made_up_secret(length: int = 24) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))
