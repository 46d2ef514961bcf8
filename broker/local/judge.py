"""The local gate's judge: who signed a request, and whether AWS would let them do it.

Why the gate decides and moto does not: moto's own IAM enforcement ignores Conditions on an
Allow, denies every Deny that has one, applies no permissions boundary and checks IAM actions
against "*". It cannot be relaxed for one request (it is one switch for the whole process, which
serves requests on many threads), and re-signing each allowed request as an admin would add a
second signature and an admin that exists only locally. So moto's enforcement stays off for good:
the gate authenticates every signed request itself (the key exists and is Active, the SigV4
signature matches), authorises it with policy_evaluation against the caller's policies as moto
stores them (read in-process, once per request: moto runs in this process), and hands it on
unchanged; moto then acts as the account the key belongs to.

A user's permissions boundary is read from moto's user (local/iam_users.py teaches moto to keep
it), and its document from the managed policy it names.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.iam.models import iam_backends
from moto.s3.models import s3_backends

from broker.local.iam_operations import iam_check
from broker.local.policy_evaluation import Decision, PolicyError, Request, Result, evaluate, is_public
from broker.local.s3_operations import Check

PARTITION = "aws"


class Unauthenticated(Exception):
    """The key is unknown or inactive, or the signature does not match: (code, message) as AWS says it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Caller:
    account: str
    user_name: str
    path: str
    credentials: Credentials = field(repr=False)

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:user{self.path}{self.user_name}"


def find_key(access_key_id: str) -> Caller:
    """The Active key's user, in whichever account holds it."""
    for account_id, account in list(iam_backends.items()):
        backend = account[PARTITION]
        key = backend.access_keys.get(access_key_id)
        if key is None or key.user_name is None:
            continue
        user = backend.users.get(key.user_name)
        if user is None or key.status != "Active" or all(k is not key for k in user.access_keys):
            break
        return Caller(account_id, user.name, user.path, Credentials(key.access_key_id, key.secret_access_key))
    raise Unauthenticated("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")


def parse_authorization(header: str) -> dict[str, str]:
    """`AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` as a dict."""
    algorithm, _, rest = header.partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        raise Unauthenticated("InvalidRequest", "Only AWS4-HMAC-SHA256 signatures are supported locally.")
    parts = dict(part.strip().partition("=")[::2] for part in rest.split(","))
    if not {"Credential", "SignedHeaders", "Signature"} <= set(parts) or len(parts["Credential"].split("/")) != 5:
        raise Unauthenticated("AuthorizationHeaderMalformed", "The authorization header is malformed.")
    return parts


def header_value(environ: Mapping[str, Any], name: str) -> str:
    lower = name.lower()
    if lower in ("content-type", "content-length"):
        return environ.get(lower.upper().replace("-", "_"), "")
    return environ.get("HTTP_" + lower.upper().replace("-", "_"), "")


def check_signature(
    environ: Mapping[str, Any], url: str, body: bytes, parts: Mapping[str, str], caller: Caller
) -> None:
    """Recompute the SigV4 signature with the key's secret, as AWS does, and compare."""
    _, _, region, service, _ = parts["Credential"].split("/")
    headers = {name: header_value(environ, name) for name in parts["SignedHeaders"].split(";")}
    request = AWSRequest(method=environ["REQUEST_METHOD"], url=url, headers=headers, data=body)
    request.context["timestamp"] = headers.get("x-amz-date", "")
    auth = (S3SigV4Auth if service == "s3" else SigV4Auth)(caller.credentials, service, region)
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    if not hmac.compare_digest(expected, parts["Signature"]):
        raise Unauthenticated(
            "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
        )


def _managed_document(policy: Any) -> dict[str, Any]:
    return json.loads(next(version.document for version in policy.versions if version.is_default))


def bucket_of(name: str) -> tuple[str, Any] | None:
    """(owner account, moto's bucket) or None when no account has it."""
    found = s3_backends.bucket_accounts.get(name)
    if found is None:
        return None
    partition, account = found
    bucket = s3_backends[account][partition].buckets.get(name)
    return (account, bucket) if bucket is not None else None


class Judge:
    """Decisions for signed and anonymous requests, from moto's state as it is at the request."""

    def boundary_of(self, account: str, user_name: str) -> str | None:
        user = iam_backends[account][PARTITION].users.get(user_name)
        boundary = getattr(user, "permissions_boundary", None) if user is not None else None
        return boundary["PermissionsBoundaryArn"] if boundary else None

    # --- the caller's policies ------------------------------------------------------------------

    def identity_policies(self, caller: Caller) -> list[dict[str, Any]]:
        backend = iam_backends[caller.account][PARTITION]
        user = backend.users[caller.user_name]
        documents = [json.loads(text) for text in user.policies.values()]
        documents += [_managed_document(policy) for policy in user.managed_policies.values()]
        for group in backend.get_groups_for_user(caller.user_name):
            documents += [json.loads(text) for text in group.policies.values()]
            documents += [_managed_document(policy) for policy in group.managed_policies.values()]
        return documents

    def boundary(self, caller: Caller) -> dict[str, Any] | None:
        arn = self.boundary_of(caller.account, caller.user_name)
        if arn is None:
            return None
        policy = iam_backends[caller.account][PARTITION].managed_policies.get(arn)
        if policy is None:
            raise PolicyError(f"{caller.arn} has the boundary {arn}, which does not exist")
        return _managed_document(policy)

    # --- decisions ------------------------------------------------------------------------------

    def judge_s3(self, caller: Caller | None, checks: list[Check], context: Mapping[str, str]) -> Result | None:
        """The first refusal among the checks, or an Allow; None when the bucket does not exist (moto says so)."""
        identity = self.identity_policies(caller) if caller else []
        boundary = self.boundary(caller) if caller else None
        result: Result | None = None
        for check in checks:
            found = bucket_of(check.bucket) if check.bucket else None
            if check.bucket and found is None and check.action != "s3:CreateBucket":
                return None
            owner, bucket = found if found else (caller.account if caller else None, None)
            policy = json.loads(bucket.policy) if bucket is not None and bucket.policy else None
            block = bucket.public_access_block if bucket is not None else None
            request = Request(
                check.action,
                check.resource,
                caller.arn if caller else None,
                caller.account if caller else None,
                owner,
                {**context, **check.context},
            )
            result = evaluate(
                request,
                identity,
                boundary,
                policy,
                restrict_public_buckets=bool(block and block.restrict_public_buckets),
            )
            if not result:
                return result
        return result

    def refuses_public_policy(self, bucket_name: str, body: bytes) -> bool:
        """BlockPublicPolicy: S3 refuses a PutBucketPolicy that would make the bucket public."""
        found = bucket_of(bucket_name)
        block = found[1].public_access_block if found else None
        if not (block and block.block_public_policy):
            return False
        try:
            return is_public(json.loads(body))
        except ValueError:
            return False  # not JSON: moto answers MalformedPolicy

    def judge_iam(self, caller: Caller, action: str, params: Mapping[str, str], context: Mapping[str, str]) -> Result:
        if action == "GetCallerIdentity":  # needs no permission, on AWS as here
            return Result(Decision.ALLOW, "sts:GetCallerIdentity needs no permission")
        backend = iam_backends[caller.account][PARTITION]

        def path_of(name: str) -> str | None:
            user = backend.users.get(name)
            return user.path if user is not None else None

        check = iam_check(
            action,
            params,
            account=caller.account,
            caller_name=caller.user_name,
            path_of=path_of,
            boundary_of=lambda name: self.boundary_of(caller.account, name),
        )
        if check is None:
            return Result(Decision.ALLOW, "no such user: IAM answers NoSuchEntity")
        request = Request(
            check.action, check.resource, caller.arn, caller.account, caller.account, {**context, **check.context}
        )
        return evaluate(request, self.identity_policies(caller), self.boundary(caller))
