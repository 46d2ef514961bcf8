"""Presigned URLs, checked as S3 checks them: a key that exists, a signature that matches, not expired.

A checked URL is rewritten in place into the same request signed in its Authorization header with
the same key, so the gate then judges it as any signed request (its key's policies decide).
"""

from __future__ import annotations

import datetime
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from broker.local.judge import Unauthenticated, find_key
from broker.local.refusals import BAD_REQUEST, FORBIDDEN, QUERY_ERROR, Refusal

PRESIGN_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
)
MAX_EXPIRES = 7 * 24 * 3600  # S3's limit for a SigV4 presigned URL
AMZ_DATE = "%Y%m%dT%H%M%SZ"


def is_presigned(query: list[tuple[str, str]]) -> bool:
    return any(name in ("X-Amz-Signature", "X-Amz-Credential", "Signature") for name, _ in query)


def raw_path(environ: Mapping[str, Any]) -> str:
    """The path as the client sent it, still percent-encoded: what a SigV4 signature covers for S3."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
    if "://" in raw:
        raw = "/" + raw.split("://", 1)[1].partition("/")[2]
    return raw.split("?", 1)[0] or "/"


def presign_expected_signature(
    environ: Mapping[str, Any], query: list[tuple[str, str]], credentials: Credentials, scope: list[str]
) -> str:
    """The signature S3 would compute for this presigned request with the key's secret."""
    params = dict(query)
    signed = params["X-Amz-SignedHeaders"].split(";")
    headers = {name: environ.get("HTTP_" + name.upper().replace("-", "_"), "") for name in signed}
    parts = environ.get("QUERY_STRING", "").split("&")
    unsigned_query = "&".join(part for part in parts if not part.startswith("X-Amz-Signature="))
    url = f"http://{environ.get('HTTP_HOST', '')}{raw_path(environ)}?{unsigned_query}"
    request = AWSRequest(method=environ["REQUEST_METHOD"], url=url, headers=headers)
    request.context["timestamp"] = params["X-Amz-Date"]
    auth = S3SigV4QueryAuth(credentials, scope[3], scope[2], expires=int(params["X-Amz-Expires"]))
    canonical = auth.canonical_request(request)
    return auth.signature(auth.string_to_sign(request, canonical), request)


def check_not_expired(params: Mapping[str, str], now: datetime.datetime) -> None:
    try:
        signed_at = datetime.datetime.strptime(params["X-Amz-Date"], AMZ_DATE).replace(tzinfo=datetime.UTC)
        expires = int(params["X-Amz-Expires"])
    except (KeyError, ValueError):
        raise Refusal(BAD_REQUEST, QUERY_ERROR, "X-Amz-Date or X-Amz-Expires is malformed.") from None
    if not 0 < expires <= MAX_EXPIRES:
        raise Refusal(BAD_REQUEST, QUERY_ERROR, "X-Amz-Expires must be 1 to 604800.")
    if now > signed_at + datetime.timedelta(seconds=expires):
        raise Refusal(FORBIDDEN, "AccessDenied", "Request has expired")


def admit_presigned(environ: dict[str, Any], query: list[tuple[str, str]], now: datetime.datetime) -> None:
    params = dict(query)
    if params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" or "X-Amz-Signature" not in params:
        raise Refusal(BAD_REQUEST, QUERY_ERROR, "Only SigV4 presigned URLs are supported.")
    scope = params.get("X-Amz-Credential", "").split("/")
    if len(scope) != 5 or "X-Amz-SignedHeaders" not in params:
        raise Refusal(BAD_REQUEST, QUERY_ERROR, "X-Amz-Credential is malformed.")
    check_not_expired(params, now)
    if "X-Amz-Security-Token" in params:
        raise Refusal(FORBIDDEN, "InvalidToken", "Session tokens are not supported locally.")
    try:
        credentials = find_key(scope[0]).credentials
    except Unauthenticated as error:
        raise Refusal(FORBIDDEN, error.code, error.message) from None
    expected = presign_expected_signature(environ, query, credentials, scope)
    if not hmac.compare_digest(expected, params["X-Amz-Signature"]):
        raise Refusal(
            FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    rest = [(name, value) for name, value in query if name not in PRESIGN_PARAMS]
    sign_in_headers(environ, credentials, scope[2], rest)


def sign_in_headers(
    environ: dict[str, Any], credentials: Credentials, region: str, query: list[tuple[str, str]]
) -> None:
    """Rewrite the request in place: `query` as its query string, signed in headers with `credentials`."""
    query_string = urlencode(query, safe="-_.~", quote_via=quote)
    path = raw_path(environ)
    request = AWSRequest(
        method=environ["REQUEST_METHOD"],
        url=f"http://{environ.get('HTTP_HOST', '')}{path}" + (f"?{query_string}" if query_string else ""),
        # The body is not part of the signature, so it streams through untouched.
        headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
    )
    S3SigV4Auth(credentials, "s3", region).add_auth(request)
    environ["QUERY_STRING"] = query_string
    environ["RAW_URI"] = environ["REQUEST_URI"] = path + (f"?{query_string}" if query_string else "")
    for name, value in request.headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
