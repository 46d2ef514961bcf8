"""boto3 clients, made once per app and shared by its threads (boto3 clients are thread-safe)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from contextvars import copy_context
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from broker import deadlines
from broker.errors import aws_errors
from broker.settings import Settings

# Enough connections for every thread that may share a client: request threads and the pool.
MAX_POOL_CONNECTIONS = 64
# Per attempt: AWS answers these calls in well under a second, so a few seconds means it hangs.
# The request's deadline (REQUEST_DEADLINE) bounds all attempts together.
CONNECT_TIMEOUT = 3
READ_TIMEOUT = 6


def client_config(settings: Settings) -> Config:
    s3_options = {"addressing_style": "path"} if settings.aws_endpoint_url else {}
    return Config(
        region_name=settings.aws_region,
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        max_pool_connections=MAX_POOL_CONNECTIONS,
        s3=s3_options,
    )


@dataclass
class AwsClients:
    s3: Any
    iam: Any
    sts: Any


def make_clients(settings: Settings) -> AwsClients:
    session = boto3.session.Session(
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key,
        region_name=settings.aws_region,
    )
    config = client_config(settings)
    endpoint = settings.aws_endpoint_url
    return AwsClients(
        s3=deadlines.guard(session.client("s3", endpoint_url=endpoint, config=config)),
        iam=deadlines.guard(session.client("iam", endpoint_url=endpoint, config=config)),
        sts=deadlines.guard(session.client("sts", endpoint_url=endpoint, config=config)),
    )


def own_account_id(sts: Any) -> str:
    """The AWS account the broker's key belongs to (GetCallerIdentity needs no permission)."""
    with aws_errors("learn its own AWS account (STS GetCallerIdentity)"):
        return str(sts.get_caller_identity()["Account"])


def run_concurrently(pool: Executor, calls: list[Callable[[], Any]]) -> None:
    """Run independent AWS calls at once; wait for all of them, then raise the first failure.

    Each call runs in a copy of the caller's context, so it keeps the request's deadline.
    """
    if len(calls) == 1:
        calls[0]()
        return
    futures: list[Future[Any]] = [pool.submit(copy_context().run, call) for call in calls]
    errors = [future.exception() for future in futures]
    for error in errors:
        if error is not None:
            raise error
