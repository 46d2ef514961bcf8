"""Who the broker is on AWS: the account and IAM identity its credentials belong to (STS GetCallerIdentity).

GetCallerIdentity needs no permission, so it answers for any key AWS knows and refuses only keys
that are wrong, deleted or from another partition: the right check of the broker's own key.
"""

from __future__ import annotations

from dataclasses import dataclass

import boto3

from broker.aws import client_config
from broker.settings import Settings


@dataclass(frozen=True)
class CallerIdentity:
    account_id: str
    arn: str


def caller_identity(settings: Settings) -> CallerIdentity:
    """The broker's AWS account id and ARN; raises botocore's ClientError or BotoCoreError when AWS refuses."""
    sts = boto3.session.Session().client(
        "sts",
        endpoint_url=settings.aws_endpoint_url,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key,
        config=client_config(settings),
    )
    answer = sts.get_caller_identity()
    return CallerIdentity(account_id=answer["Account"], arn=answer["Arn"])
