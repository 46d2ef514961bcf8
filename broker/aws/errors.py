"""AWS failures turned into the broker's errors, each saying what the broker was doing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from broker.errors import (
    BadRequest,
    BrokerError,
    ConcurrencyError,
    Conflict,
    Unprocessable,
    UpstreamError,
    UpstreamUnavailable,
)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


# AWS error codes whose meaning a person can act on, and what to tell them.
_THROTTLED = {"Throttling", "ThrottlingException", "SlowDown", "RequestLimitExceeded", "ServiceUnavailable"}
_LIMITS = {"TooManyBuckets", "LimitExceeded", "LimitExceededException"}
# A resource gone in the middle of an operation: another request (an unbind, a deprovision) deleted it.
_VANISHED = {"NoSuchBucket", "NoSuchEntity"}
_DENIED = {"AccessDenied", "AccessDeniedException", "InvalidAccessKeyId", "SignatureDoesNotMatch"}


def from_aws(error: Exception, doing: str) -> BrokerError:
    """Turn an AWS failure while `doing` something into an error a person can act on."""
    if isinstance(error, BrokerError):
        return error
    if isinstance(error, ClientError):
        code = error_code(error)
        if code in _THROTTLED:
            return UpstreamUnavailable(
                f"AWS is throttling the broker while it {doing} ({code}). Try again in a minute."
            )
        if code in _LIMITS:
            return Unprocessable(
                f"AWS refused to let the broker {doing}: an account limit is reached ({code}). "
                "Ask your platform operator to raise the limit or remove unused instances."
            )
        if code in _DENIED:
            return UpstreamError(
                f"The broker's own AWS credentials may not {doing} ({code}). "
                "A platform operator must grant the broker IAM user the broker policy shipped with the broker."
            )
        if code == "BucketAlreadyExists":
            return Conflict(
                f"AWS refused to let the broker {doing}: another AWS account owns a bucket of that name. "
                "Ask your platform operator to choose another BUCKET_PREFIX."
            )
        if code in _VANISHED:
            return ConcurrencyError(
                f"What the broker was working on was deleted by another request while it tried to {doing} "
                f"({code}). Nothing more was changed; try again once the other operation is done."
            )
        if code == "KMS.NotFoundException" or code.startswith("KMS."):
            return BadRequest(f"AWS refused the KMS key while the broker tried to {doing} ({code}). Check kms_key_arn.")
        message = error.response.get("Error", {}).get("Message", "")
        return UpstreamError(f"AWS refused to let the broker {doing}: {code}: {message}".rstrip(": "))
    if isinstance(error, BotoCoreError):
        return UpstreamUnavailable(f"The broker could not reach AWS to {doing} ({type(error).__name__}). Try again.")
    return BrokerError(f"The broker failed to {doing} ({type(error).__name__}).")


@contextmanager
def aws_errors(doing: str) -> Iterator[None]:
    """Raise any AWS failure inside the block as a BrokerError that says what the broker was doing."""
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise from_aws(error, doing) from error
