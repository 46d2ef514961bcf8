"""Who the broker is on AWS: the account and IAM identity its credentials belong to (STS GetCallerIdentity).

GetCallerIdentity needs no permission, so it answers for any key AWS knows and refuses only keys
that are wrong, deleted or from another partition: the right check of the broker's own key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from broker.settings import Settings


@dataclass(frozen=True)
class CallerIdentity:
    account_id: str
    arn: str


def caller_identity(settings: Settings, sts: Any = None) -> CallerIdentity:
    """The broker's AWS account id and ARN, asked with `sts` or a client made for the purpose;
    raises botocore's ClientError or BotoCoreError when AWS refuses."""
    answer = (sts or _sts_client(settings)).get_caller_identity()
    return CallerIdentity(account_id=answer["Account"], arn=answer["Arn"])


def _sts_client(settings: Settings) -> Any:
    # Imported here: the gunicorn master imports this module and must not load boto3 (gunicorn_config).
    import boto3

    from broker.aws import client_config

    return boto3.session.Session().client(
        "sts",
        endpoint_url=settings.aws_endpoint_url,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key,
        config=client_config(settings),
    )
