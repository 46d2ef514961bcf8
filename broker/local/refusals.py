"""What AWS answers instead of serving, in the shapes clients parse: S3's XML error, IAM's and STS's."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from xml.sax.saxutils import escape

StartResponse = Callable[..., Any]
FORBIDDEN, BAD_REQUEST = "403 Forbidden", "400 Bad Request"
QUERY_ERROR = "AuthorizationQueryParametersError"


class Refusal(Exception):
    """A status and an error code and message; `query_api` for IAM and STS (ErrorResponse), else S3's Error."""

    def __init__(self, status: str, code: str, message: str, *, query_api: bool = False) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.query_api = status, code, message, query_api

    def for_query_api(self) -> Refusal:
        return Refusal(self.status, self.code, self.message, query_api=True)

    def respond(self, environ: Mapping[str, Any], start_response: StartResponse) -> list[bytes]:
        error = f"<Code>{escape(self.code)}</Code><Message>{escape(self.message)}</Message>"
        if self.query_api:
            text = (
                f"<ErrorResponse><Error><Type>Sender</Type>{error}</Error><RequestId>local</RequestId></ErrorResponse>"
            )
        else:
            text = f"<Error>{error}</Error>"
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n{text}'.encode()
        start_response(self.status, [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]


ACCESS_DENIED = Refusal(FORBIDDEN, "AccessDenied", "Access Denied")
