"""In front of the local backend: every request judged as AWS judges it, before moto sees it.

- A signed request (S3, IAM, STS) is authenticated and authorised by the judge (judge.py says
  why the gate decides and moto's own enforcement stays off): the caller's identity policies,
  its permissions boundary and, for S3, the bucket's policy and Block Public Access, with the
  request's condition keys: aws:SourceIp (the client's address), aws:SecureTransport (the
  scheme), aws:CurrentTime (the gate's clock), aws:Referer, aws:UserAgent, aws:ViaAWSService
  (always false: no AWS service calls the gate), aws:RequestedRegion, aws:PrincipalOrgID (every
  account of the local backend is in one AWS Organization, LOCAL_ORGANIZATION, as a platform's
  account and its organisation-wide buckets' accounts often are), and the S3 and IAM keys of
  s3_operations and iam_operations. moto keeps each account's users and buckets apart (a key acts
  in the account that holds it), so two accounts' policies meet here as they do on AWS.
- A presigned URL is checked (presigned.py) and then judged as its key's signed request.
- An unsigned request is judged as anonymous: the bucket policy and Block Public Access.
- A policy, operator, key or operation the evaluator does not know answers 500 with the reason,
  also in this module's log: never a silent allow or deny.

moto's admin API (/moto-api: every secret key, a reset) and the gate's own (/_local: its
enforcement switch and clock) answer only requests carrying the admin token made at start.
With `test_headers`, which only the tests' backend turns on, X-Local-Source-Ip says which address
a request came from and X-Local-Source-Vpce which VPC endpoint it came through (a request through
an endpoint has no aws:SourceIp, as on AWS). Only the local backend imports this module.
"""

from __future__ import annotations

import datetime
import hmac
import io
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from broker.local.judge import Caller, Judge, Unauthenticated, check_signature, find_key, parse_authorization
from broker.local.policy_evaluation import PolicyError, Result
from broker.local.presigned import admit_presigned, check_not_expired, is_presigned, raw_path
from broker.local.refusals import ACCESS_DENIED, FORBIDDEN, Refusal, StartResponse
from broker.local.s3_operations import s3_checks

__all__ = ["ADMIN_TOKEN_HEADER", "LOCAL_ORGANIZATION", "LocalGate", "Refusal", "check_not_expired"]

log = logging.getLogger("s3-broker.local-gate")
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
ADMIN_TOKEN_HEADER = "X-Local-Admin-Token"
SOURCE_IP_HEADER, SOURCE_VPCE_HEADER = "HTTP_X_LOCAL_SOURCE_IP", "HTTP_X_LOCAL_SOURCE_VPCE"
ADMIN_PATHS = ("/moto-api", "/_local/")
ISO = "%Y-%m-%dT%H:%M:%SZ"
LOCAL_ORGANIZATION = "o-localbackend"  # the AWS Organization every local account belongs to


def read_body(environ: dict[str, Any]) -> bytes:
    """The whole body, put back so moto reads it too."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _plain(start_response: StartResponse, status: str, text: str) -> list[bytes]:
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


CREATE_BUCKET = threading.Lock()


def creates_bucket(environ: dict[str, Any]) -> bool:
    """A path-style CreateBucket: PUT /BUCKET with no query."""
    path = raw_path(environ)
    return environ["REQUEST_METHOD"] == "PUT" and not environ.get("QUERY_STRING") and "/" not in path.strip("/")


class LocalGate:
    """WSGI middleware around moto's app; see the module docstring."""

    def __init__(self, app: WsgiApp, admin_token: str, *, test_headers: bool = False) -> None:
        self.app = app
        self.admin_token = admin_token
        self.test_headers = test_headers
        self.enforcing = False  # off while the first identities are made, as moto's INITIAL_NO_AUTH_ACTION_COUNT
        self.judge = Judge()
        self._clock_offset = datetime.timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime.datetime:
        return datetime.datetime.now(datetime.UTC) + self._clock_offset

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if creates_bucket(environ):
            # moto looks for the bucket and creates it in two steps: two CreateBucket calls at once
            # (us-east-1 lets its owner repeat one) made a second bucket of the name that replaced
            # the first, objects and all. S3 creates a bucket once.
            with CREATE_BUCKET:
                return list(self._call(environ, start_response))
        return self._call(environ, start_response)

    def _call(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = raw_path(environ)
        if path.startswith(ADMIN_PATHS):
            return self._admin(environ, start_response, path)
        source_ip, source_vpce = environ.pop(SOURCE_IP_HEADER, None), environ.pop(SOURCE_VPCE_HEADER, None)
        if not self.enforcing:
            return self.app(environ, start_response)
        environ.pop("HTTP_X_MOTO_ACCOUNT_ID", None)  # moto would act in the account it names
        context = self._context(environ, source_ip if self.test_headers else None, source_vpce)
        query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        try:
            if "HTTP_AUTHORIZATION" not in environ and is_presigned(query):
                admit_presigned(environ, query, self.now())
                query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
            if "HTTP_AUTHORIZATION" in environ:
                return self._signed(environ, start_response, path, query, context)
            if environ["REQUEST_METHOD"] == "OPTIONS":
                return self.app(environ, start_response)  # CORS preflight: S3 answers it from the CORS rules
            return self._anonymous(environ, start_response, path, query, context)
        except Refusal as refusal:
            return refusal.respond(environ, start_response)
        except PolicyError as error:
            log.error("local gate cannot judge %s %s: %s", environ["REQUEST_METHOD"], path, error)
            return _plain(start_response, "500 Internal Server Error", f"local gate cannot judge this request: {error}")

    def _context(self, environ: dict[str, Any], source_ip: str | None, source_vpce: str | None) -> dict[str, str]:
        now = self.now()
        context = {
            "aws:SecureTransport": "true" if environ.get("wsgi.url_scheme") == "https" else "false",
            "aws:CurrentTime": now.strftime(ISO),
            "aws:EpochTime": str(int(now.timestamp())),
            "aws:ViaAWSService": "false",
        }
        if source_vpce and self.test_headers:
            context["aws:SourceVpce"] = source_vpce  # through an endpoint there is no public source address
        else:
            context["aws:SourceIp"] = source_ip or environ.get("REMOTE_ADDR", "")
        for header, key in (("HTTP_REFERER", "aws:Referer"), ("HTTP_USER_AGENT", "aws:UserAgent")):
            if environ.get(header):
                context[key] = environ[header]
        return context

    # --- signed requests ------------------------------------------------------------------------

    def _signed(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        path: str,
        query: list[tuple[str, str]],
        context: dict[str, str],
    ) -> Iterable[bytes]:
        try:
            parts = parse_authorization(environ["HTTP_AUTHORIZATION"])
        except Unauthenticated as error:
            raise Refusal("400 Bad Request", error.code, error.message) from None
        service, region = parts["Credential"].split("/")[3], parts["Credential"].split("/")[2]
        query_api = service != "s3"
        params = dict(query)
        body = read_body(environ) if query_api or (environ["REQUEST_METHOD"] == "POST" and "delete" in params) else b""
        query_string = environ.get("QUERY_STRING", "")
        url = f"http://{environ.get('HTTP_HOST', '')}{path}" + (f"?{query_string}" if query_string else "")
        try:
            caller = find_key(parts["Credential"].split("/")[0])
            check_signature(environ, url, body, parts, caller)
        except Unauthenticated as error:
            code = "InvalidClientTokenId" if query_api and error.code == "InvalidAccessKeyId" else error.code
            raise Refusal(FORBIDDEN, code, error.message, query_api=query_api) from None
        context["aws:RequestedRegion"] = region
        context["aws:PrincipalOrgID"] = LOCAL_ORGANIZATION
        if not query_api:
            headers = request_headers(environ)
            checks = s3_checks(environ["REQUEST_METHOD"], path, params, headers, body)
            result = self.judge.judge_s3(caller, checks, context)
            self._refuse_unless(result, caller, checks[0].action, path)
            if environ["REQUEST_METHOD"] == "PUT" and "policy" in params:
                bucket = path.lstrip("/").partition("/")[0]
                if self.judge.refuses_public_policy(bucket, read_body(environ)):
                    raise ACCESS_DENIED
            return self.app(environ, start_response)
        form = {**params, **dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))}
        action = form.get("Action", "")
        self._refuse_unless(self.judge.judge_iam(caller, action, form, context), caller, action, path, query_api=True)
        return self.app(environ, start_response)

    def _refuse_unless(
        self, result: Result | None, caller: Caller | None, action: str, path: str, *, query_api: bool = False
    ) -> None:
        if result is None or result:
            return
        who = caller.arn if caller else "anonymous"
        log.info("local gate refused %s on %s for %s: %s", action, path, who, result.reason)
        if query_api:
            message = f"User: {who} is not authorized to perform: {action} ({result.reason})"
            raise Refusal(FORBIDDEN, "AccessDenied", message, query_api=True)
        raise ACCESS_DENIED

    # --- anonymous requests ---------------------------------------------------------------------

    def _anonymous(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        path: str,
        query: list[tuple[str, str]],
        context: dict[str, str],
    ) -> Iterable[bytes]:
        headers = request_headers(environ)
        checks = s3_checks(environ["REQUEST_METHOD"], path, dict(query), headers)
        result = self.judge.judge_s3(None, checks, context)
        if result is None:
            raise Refusal("404 Not Found", "NoSuchBucket", "The specified bucket does not exist")
        self._refuse_unless(result, None, checks[0].action, path)
        return self.app(environ, start_response)

    # --- the admin API --------------------------------------------------------------------------

    def _admin(self, environ: dict[str, Any], start_response: StartResponse, path: str) -> Iterable[bytes]:
        given = environ.get("HTTP_" + ADMIN_TOKEN_HEADER.upper().replace("-", "_"), "")
        if not hmac.compare_digest(given.encode(), self.admin_token.encode()):
            return _plain(start_response, FORBIDDEN, "the local backend's admin API needs its admin token")
        method = environ["REQUEST_METHOD"]
        if path == "/moto-api/reset-auth" and method == "POST":
            # The gate enforces instead of moto: "0" free requests left means enforce, "inf" means off.
            with self._lock:
                self.enforcing = read_body(environ).strip() != b"inf"
            return _plain(start_response, "200 OK", "enforcing" if self.enforcing else "not enforcing")
        if path == "/_local/clock":
            if method == "POST":
                try:
                    moment = datetime.datetime.strptime(read_body(environ).decode().strip(), ISO)
                except ValueError:
                    return _plain(start_response, "400 Bad Request", f"the clock takes a time as {ISO}")
                with self._lock:
                    self._clock_offset = moment.replace(tzinfo=datetime.UTC) - datetime.datetime.now(datetime.UTC)
            return _plain(start_response, "200 OK", self.now().strftime(ISO))
        return self.app(environ, start_response)


def request_headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request's headers by their lower-case HTTP names, as the S3 checks read them."""
    return {k[5:].lower().replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
