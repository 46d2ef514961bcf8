"""Which IAM actions an S3 REST request needs, on which resources, with which S3 condition keys. Pure.

Sources: the S3 User Guide's "Amazon S3 actions" / "Policy actions for Amazon S3 operations" table
(each API operation and the action it needs; DeleteObjects needs s3:DeleteObject for each key,
CopyObject s3:GetObject on the source too) and "Bucket policy examples using condition keys".
Path-style requests only (the broker and the tests use them against the local backend). A query
parameter that is neither a known subresource nor a known option raises PolicyError: guessing the
action would make the gate allow or deny differently from S3 without saying so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from broker.local.policy_matching import PolicyError


@dataclass(frozen=True)
class Check:
    """One authorisation S3 makes for a request: an action on a resource, with request-specific keys."""

    action: str
    resource: str
    bucket: str | None = None
    context: Mapping[str, str] = field(default_factory=dict)


# Subresource -> action, per method, for a bucket. Order matters only where two could appear together.
BUCKET_ACTIONS: dict[str, dict[str, str]] = {
    "GET": {
        "uploads": "ListBucketMultipartUploads",
        "location": "GetBucketLocation",
        "lifecycle": "GetLifecycleConfiguration",
        "versioning": "GetBucketVersioning",
        "policyStatus": "GetBucketPolicyStatus",
        "policy": "GetBucketPolicy",
        "website": "GetBucketWebsite",
        "acl": "GetBucketAcl",
        "tagging": "GetBucketTagging",
        "logging": "GetBucketLogging",
        "cors": "GetBucketCORS",
        "notification": "GetBucketNotification",
        "accelerate": "GetAccelerateConfiguration",
        "versions": "ListBucketVersions",
        "publicAccessBlock": "GetBucketPublicAccessBlock",
        "encryption": "GetEncryptionConfiguration",
        "ownershipControls": "GetBucketOwnershipControls",
        "replication": "GetReplicationConfiguration",
        "object-lock": "GetBucketObjectLockConfiguration",
        "requestPayment": "GetBucketRequestPayment",
    },
    "PUT": {
        "lifecycle": "PutLifecycleConfiguration",
        "versioning": "PutBucketVersioning",
        "policy": "PutBucketPolicy",
        "website": "PutBucketWebsite",
        "acl": "PutBucketAcl",
        "tagging": "PutBucketTagging",
        "logging": "PutBucketLogging",
        "cors": "PutBucketCORS",
        "notification": "PutBucketNotification",
        "accelerate": "PutAccelerateConfiguration",
        "publicAccessBlock": "PutBucketPublicAccessBlock",
        "encryption": "PutEncryptionConfiguration",
        "ownershipControls": "PutBucketOwnershipControls",
        "replication": "PutReplicationConfiguration",
        "object-lock": "PutBucketObjectLockConfiguration",
    },
    "DELETE": {
        "lifecycle": "PutLifecycleConfiguration",
        "policy": "DeleteBucketPolicy",
        "website": "DeleteBucketWebsite",
        "tagging": "PutBucketTagging",
        "cors": "PutBucketCORS",
        "publicAccessBlock": "PutBucketPublicAccessBlock",
        "encryption": "PutEncryptionConfiguration",
        "ownershipControls": "PutBucketOwnershipControls",
        "replication": "PutReplicationConfiguration",
    },
}
BUCKET_DEFAULTS = {"GET": "ListBucket", "HEAD": "ListBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}
# Query parameters that are options of an operation, not a subresource choosing another one.
OPTIONS = frozenset(
    [
        "prefix",
        "delimiter",
        "max-keys",
        "marker",
        "list-type",
        "continuation-token",
        "start-after",
        "fetch-owner",
        "encoding-type",
        "key-marker",
        "version-id-marker",
        "upload-id-marker",
        "max-uploads",
        "max-parts",
        "part-number-marker",
        "partNumber",
        "versionId",
        "uploadId",
        "x-id",
        "response-content-type",
        "response-content-language",
        "response-expires",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "optional-object-attributes",
    ]
)
LISTINGS = ("s3:ListBucket", "s3:ListBucketVersions")
DELETE_KEY = re.compile(r"<Key>(.*?)</Key>(?:\s*<VersionId>(.*?)</VersionId>)?", re.DOTALL)


def _subresources(query: Mapping[str, str], known: Mapping[str, str]) -> list[str]:
    unknown = [name for name in query if name not in known and name not in OPTIONS and not name.startswith("X-Amz-")]
    if unknown:
        raise PolicyError(f"the local gate does not know the S3 subresource or option {unknown[0]!r}")
    return [name for name in known if name in query]


def _xml_text(value: str) -> str:
    return (
        value.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", '"')
        .replace("&apos;", "'")
        .replace("&amp;", "&")
    )


def _bucket_checks(method: str, bucket: str, query: Mapping[str, str], body: bytes) -> list[Check]:
    arn = f"arn:aws:s3:::{bucket}"
    if method == "POST":
        _subresources(query, {"delete": ""})
        if "delete" not in query:
            raise PolicyError("the local gate knows only POST ?delete on a bucket")
        checks = []
        for key, version in DELETE_KEY.findall(body.decode("utf-8", "replace")):
            action = "s3:DeleteObjectVersion" if version else "s3:DeleteObject"
            checks.append(Check(action, f"{arn}/{_xml_text(key)}", bucket))
        return checks or [Check("s3:DeleteObject", f"{arn}/*", bucket)]
    known = BUCKET_ACTIONS.get(method, {})
    chosen = _subresources(query, known)
    if method not in BUCKET_DEFAULTS:
        raise PolicyError(f"the local gate does not know {method} on a bucket")
    action = "s3:" + (known[chosen[0]] if chosen else BUCKET_DEFAULTS[method])
    context: dict[str, str] = {}
    if action in LISTINGS:
        # A listing without a prefix is judged with an empty one, as S3's examples of s3:prefix show.
        context["s3:prefix"] = query.get("prefix", "")
        for name in ("delimiter", "max-keys"):
            if name in query:
                context[f"s3:{name}"] = query[name]
    return [Check(action, arn, bucket, context)]


def _copy_source_check(source: str) -> Check:
    path, _, version_query = unquote(source).lstrip("/").partition("?versionId=")
    bucket, _, key = path.partition("/")
    action = "s3:GetObjectVersion" if version_query else "s3:GetObject"
    return Check(action, f"arn:aws:s3:::{bucket}/{key}", bucket)


def _object_checks(
    method: str, bucket: str, key: str, query: Mapping[str, str], headers: Mapping[str, str]
) -> list[Check]:
    arn = f"arn:aws:s3:::{bucket}/{key}"
    versioned = "versionId" in query
    subresources = {"uploads": "", "tagging": "", "acl": "", "restore": "", "select": "", "attributes": ""}
    chosen = set(_subresources(query, subresources))
    if method in ("GET", "HEAD"):
        if "uploadId" in query:
            action = "ListMultipartUploadParts"
        elif "tagging" in chosen:
            action = "GetObjectVersionTagging" if versioned else "GetObjectTagging"
        elif "acl" in chosen:
            action = "GetObjectVersionAcl" if versioned else "GetObjectAcl"
        elif "attributes" in chosen:
            action = "GetObjectVersionAttributes" if versioned else "GetObjectAttributes"
        else:
            action = "GetObjectVersion" if versioned else "GetObject"
    elif method == "PUT":
        if "tagging" in chosen:
            action = "PutObjectVersionTagging" if versioned else "PutObjectTagging"
        elif "acl" in chosen:
            action = "PutObjectVersionAcl" if versioned else "PutObjectAcl"
        else:
            action = "PutObject"  # also UploadPart and UploadPartCopy
    elif method == "DELETE":
        if "uploadId" in query:
            action = "AbortMultipartUpload"
        elif "tagging" in chosen:
            action = "DeleteObjectVersionTagging" if versioned else "DeleteObjectTagging"
        else:
            action = "DeleteObjectVersion" if versioned else "DeleteObject"
    elif method == "POST" and ("uploads" in chosen or "uploadId" in query):
        action = "PutObject"  # CreateMultipartUpload and CompleteMultipartUpload
    elif method == "POST" and "restore" in chosen:
        action = "RestoreObject"
    elif method == "POST" and "select" in chosen:
        action = "GetObject"
    else:
        raise PolicyError(f"the local gate does not know {method} on an object with {sorted(query)}")
    context = {}
    if action == "PutObject":
        for header, name in (
            ("if-none-match", "s3:if-none-match"),
            ("x-amz-server-side-encryption", "s3:x-amz-server-side-encryption"),
            ("x-amz-server-side-encryption-aws-kms-key-id", "s3:x-amz-server-side-encryption-aws-kms-key-id"),
            ("x-amz-acl", "s3:x-amz-acl"),
        ):
            if header in headers:
                context[name] = headers[header]
    checks = [Check("s3:" + action, arn, bucket, context)]
    if action == "PutObject" and "x-amz-copy-source" in headers:
        checks.append(_copy_source_check(headers["x-amz-copy-source"]))
    return checks


def s3_checks(
    method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes = b""
) -> list[Check]:
    """The checks S3 makes for a path-style request. `path` is still percent-encoded; `headers` lower-case."""
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket:
        if method != "GET":
            raise PolicyError(f"the local gate does not know {method} /")
        return [Check("s3:ListAllMyBuckets", "*")]
    bucket, key = unquote(bucket), unquote(key)
    if key:
        return _object_checks(method, bucket, key, query, headers)
    return _bucket_checks(method, bucket, query, body)
