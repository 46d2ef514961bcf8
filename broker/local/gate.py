"""In front of the local backend: anonymous reads of public objects and presigned URLs, as on AWS.

moto under IAM enforcement answers 500 to any request without an Authorization header, which
covers both. This WSGI middleware handles them before moto sees them:

- a presigned URL (SigV4 in the query) is checked as S3 checks it: a key that exists, a
  signature that matches, not expired. It then goes on to moto signed in the Authorization
  header with the same key, so moto applies that key's IAM policy as for any other request;
- an unsigned GET or HEAD of an object is served when the bucket's policy lets everyone read
  it (from a matching Referer, if the policy limits that) and Block Public Access does not
  restrict it, signed for moto by a reader user that only this middleware uses; anything else
  unsigned is refused with 403 AccessDenied, as S3 does.

Only the local backend imports this module (it needs moto in-process).
"""

from __future__ import annotations

import datetime
import hmac
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.access_control import CreateAccessKeyFailure, create_access_key
from moto.iam.models import iam_backends
from moto.s3.models import s3_backends

from broker.local import public_access

PARTITION = "aws"
READER_USER = "s3-broker-local-public-reader"
READER_PATH = "/s3-broker-local/"
READER_REGION = "us-east-1"
READER_POLICY = {
    "Version": "2012-10-17",
    # Only ever used after public_access.anyone_may() said yes for the very request.
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": "*"}],
}
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
FORBIDDEN, BAD_REQUEST = "403 Forbidden", "400 Bad Request"
QUERY_ERROR = "AuthorizationQueryParametersError"

StartResponse = Callable[..., Any]
CREATE_BUCKET = threading.Lock()


def creates_bucket(environ: dict[str, Any], path: str) -> bool:
    """A path-style CreateBucket: PUT /BUCKET with no query."""
    return environ["REQUEST_METHOD"] == "PUT" and not environ.get("QUERY_STRING") and "/" not in path.strip("/")


WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class Refusal(Exception):
    """What S3 answers instead of serving: a status and an S3 error code and message."""

    def __init__(self, status: str, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def respond(self, environ: Mapping[str, Any], start_response: StartResponse) -> list[bytes]:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{self.message}</Message></Error>"
        ).encode()
        start_response(self.status, [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]


ACCESS_DENIED = Refusal(FORBIDDEN, "AccessDenied", "Access Denied")


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


class LocalGate:
    """WSGI middleware around moto's app; see the module docstring."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self._reader_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = raw_path(environ)
        signed = "HTTP_AUTHORIZATION" in environ
        if signed and creates_bucket(environ, path):
            # moto looks for the bucket and creates it in two steps: two CreateBucket calls at once
            # (us-east-1 lets its owner repeat one) made a second bucket of the name that replaced
            # the first, objects and all. S3 creates a bucket once.
            with CREATE_BUCKET:
                return list(self.app(environ, start_response))
        if signed or environ["REQUEST_METHOD"] == "OPTIONS" or path == "/" or path.startswith("/moto-api"):
            return self.app(environ, start_response)  # signed calls, CORS preflights, moto's own API
        query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        try:
            if any(name in ("X-Amz-Signature", "X-Amz-Credential", "Signature") for name, _ in query):
                self._admit_presigned(environ, query)
            else:
                self._admit_anonymous(environ, query, path)
        except Refusal as refusal:
            return refusal.respond(environ, start_response)
        return self.app(environ, start_response)

    # --- presigned URLs -------------------------------------------------------------------

    def _admit_presigned(self, environ: dict[str, Any], query: list[tuple[str, str]]) -> None:
        params = dict(query)
        if params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" or "X-Amz-Signature" not in params:
            raise Refusal(BAD_REQUEST, QUERY_ERROR, "Only SigV4 presigned URLs are supported.")
        scope = params.get("X-Amz-Credential", "").split("/")
        if len(scope) != 5 or "X-Amz-SignedHeaders" not in params:
            raise Refusal(BAD_REQUEST, QUERY_ERROR, "X-Amz-Credential is malformed.")
        check_not_expired(params, datetime.datetime.now(datetime.UTC))
        token = params.get("X-Amz-Security-Token")
        try:
            key = create_access_key(
                account_id=DEFAULT_ACCOUNT_ID,
                partition=PARTITION,
                access_key_id=scope[0],
                headers={"X-Amz-Security-Token": token} if token else {},
            )
        except CreateAccessKeyFailure:
            raise Refusal(
                FORBIDDEN, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
            ) from None
        credentials = key.create_credentials()
        expected = presign_expected_signature(environ, query, credentials, scope)
        if not hmac.compare_digest(expected, params["X-Amz-Signature"]):
            raise Refusal(
                FORBIDDEN,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        rest = [(name, value) for name, value in query if name not in PRESIGN_PARAMS]
        sign_for_moto(environ, credentials, scope[2], rest)

    # --- anonymous reads --------------------------------------------------------------------

    def _admit_anonymous(self, environ: dict[str, Any], query: list[tuple[str, str]], path: str) -> None:
        bucket_name, _, key = path.lstrip("/").partition("/")
        if environ["REQUEST_METHOD"] not in ("GET", "HEAD") or not key:
            raise ACCESS_DENIED
        bucket = s3_backends[DEFAULT_ACCOUNT_ID][PARTITION].buckets.get(unquote(bucket_name))
        if bucket is None:
            raise Refusal("404 Not Found", "NoSuchBucket", "The specified bucket does not exist")
        policy = json.loads(bucket.policy) if bucket.policy else None
        block = bucket.public_access_block
        restricted = bool(block and block.restrict_public_buckets)
        action = public_access.object_read_action(dict(query))
        context = {"aws:SecureTransport": "true" if environ.get("wsgi.url_scheme") == "https" else "false"}
        if environ.get("HTTP_REFERER"):
            context["aws:Referer"] = environ["HTTP_REFERER"]
        arn = f"arn:aws:s3:::{bucket.name}/{unquote(key)}"
        if not public_access.anyone_may(policy, restricted, action, arn, context):
            raise ACCESS_DENIED
        sign_for_moto(environ, self._reader(), READER_REGION, query)

    def _reader(self) -> Credentials:
        """The reader user's key, made on first use (again if moto was reset since)."""
        iam = iam_backends[DEFAULT_ACCOUNT_ID][PARTITION]
        with self._reader_lock:
            user = iam.users.get(READER_USER)
            if user is None:
                user = iam.create_user(READER_REGION, READER_USER, path=READER_PATH)
                iam.put_user_policy(READER_USER, "public-reads", json.dumps(READER_POLICY))
                iam.create_access_key(READER_USER)
            key = user.access_keys[0]
            return Credentials(key.access_key_id, key.secret_access_key)


def sign_for_moto(environ: dict[str, Any], credentials: Credentials, region: str, query: list[tuple[str, str]]) -> None:
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
