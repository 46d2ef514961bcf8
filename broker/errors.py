"""Errors the broker raises, each carrying the HTTP status and OSB error body it becomes."""

from __future__ import annotations


class BrokerError(Exception):
    """An error with an OSB error body: a status, a machine-readable `error` and a description."""

    status: int = 500
    error: str = "InternalError"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "description": self.description}


class BadRequest(BrokerError):
    status = 400
    error = "BadRequest"


class InvalidParameters(BadRequest):
    error = "InvalidParameters"


class Unauthorized(BrokerError):
    status = 401
    error = "Unauthorized"


class NotFound(BrokerError):
    status = 404
    error = "NotFound"


class Conflict(BrokerError):
    status = 409
    error = "Conflict"


class Gone(BrokerError):
    status = 410
    error = "Gone"


class PreconditionFailed(BrokerError):
    status = 412
    error = "PreconditionFailed"


class Unprocessable(BrokerError):
    status = 422
    error = "UnprocessableEntity"


class NotOffered(BrokerError):
    """A request for something this broker does not offer (the catalog says so): not a failure."""

    status = 501
    error = "NotSupported"


class UpstreamError(BrokerError):
    """AWS refused or failed a call in a way the broker cannot fix by itself."""

    status = 502
    error = "AWSError"


class UpstreamUnavailable(UpstreamError):
    status = 503
    error = "AWSUnavailable"


class AsyncRequired(Unprocessable):
    """The operation can only finish asynchronously, and the platform did not send accepts_incomplete."""

    error = "AsyncRequired"


class ConcurrencyError(Unprocessable):
    """Another operation on the same instance or binding is in progress (the OSB spec's code)."""

    error = "ConcurrencyError"
