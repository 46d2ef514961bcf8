"""Who the broker is on AWS: the account and IAM identity its credentials belong to (STS GetCallerIdentity).

GetCallerIdentity needs no permission, so it answers for any key AWS knows and refuses only keys
that are wrong, deleted or from another partition: the right check of the broker's own key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from broker.settings import Settings

log = logging.getLogger(__name__)

# gunicorn's exit status for a worker that could not boot: its master then stops instead of retrying.
WORKER_BOOT_ERROR = 3


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

    from broker.aws.clients import client_config

    return boto3.session.Session().client(
        "sts",
        endpoint_url=settings.aws_endpoint_url,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key,
        config=client_config(settings),
    )


def check_aws_access(settings: Settings, sts: Any) -> CallerIdentity:
    """Ask AWS who the broker's credentials belong to: a wrong key stops the start, not a request.

    Called by every worker as it builds the app (which needs the account id anyway). A refusal is
    logged and ends the worker with gunicorn's "worker failed to boot" status, on which the gunicorn
    master stops the whole server rather than start another worker.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from broker.aws.errors import error_code

    try:
        return caller_identity(settings, sts)
    except ClientError as error:
        refusal = (
            f"AWS refused the broker's credentials ({error_code(error)}): "
            "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            + (" and AWS_ENDPOINT_URL" if settings.aws_endpoint_url else "")
        )
    except BotoCoreError as error:
        refusal = f"could not ask AWS STS who the broker's credentials belong to: {error}"
    log.error("refusing to start: %s", refusal)
    raise SystemExit(WORKER_BOOT_ERROR)
