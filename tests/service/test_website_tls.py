"""A public website bucket on a TLS endpoint: its pages over S3's website endpoint (HTTP), all else over TLS.

S3's website endpoint speaks HTTP only, so a TLS-only Deny that covers its visitors' anonymous reads
would keep the site from ever being served on AWS. The broker's configuration calls run against the
local S3 as if it were reached over TLS; the decisions are those of AWS's documented policy semantics.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from broker.aws.bucket_config import configuration_calls
from broker.aws.clients import run_concurrently
from broker.local.policy_evaluation import Request, evaluate
from broker.model.bucket_options import BucketOptions, Website
from broker.model.parameters import InstanceConfig
from broker.policy import documents
from testing.clients import refused
from testing.harness import REGION, Backend, new_id
from testing.policy_lint import serious_findings


def anyone_may(policy: Any, restricted: bool, action: str, arn: str, context: dict[str, str]) -> bool:
    """What the local gate asks the evaluator for an anonymous request."""
    request = Request(action, arn, context=context)
    return bool(evaluate(request, resource_policy=policy, restrict_public_buckets=restricted))


def test_a_public_website_bucket_lets_only_anonymous_reads_go_without_tls(backend: Backend) -> None:
    s3 = backend.client("s3", tls=True)  # the bucket is TLS-only: the local gate refuses plain HTTP
    name = f"cf-s3-site-{new_id()[:8]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    website = InstanceConfig(public=True, options=BucketOptions(website=Website("index.html")))
    with ThreadPoolExecutor(4) as pool:
        run_concurrently(pool, configuration_calls(s3, name, None, website, tls_endpoint=True))
        document = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
        assert [s["Sid"] for s in document["Statement"]] == [
            documents.TLS_ONLY_SID,
            documents.SIGNED_READS_TLS_ONLY_SID,
            documents.PUBLIC_READ_SID,
        ]
        assert serious_findings(document, resource_policy=True) == []
        page = f"arn:aws:s3:::{name}/index.html"
        assert anyone_may(document, False, "s3:GetObject", page, {"aws:SecureTransport": "false"})
        assert not anyone_may(document, False, "s3:PutObject", page, {"aws:SecureTransport": "false"})
        # Run through the local gate: the page over plain HTTP to anyone; a signed read over HTTP refused.
        s3.put_object(Bucket=name, Key="index.html", Body=b"<h1>site</h1>")
        assert requests.get(f"{backend.moto.endpoint}/{name}/index.html", timeout=10).content == b"<h1>site</h1>"
        assert refused(backend.client("s3").get_object, Bucket=name, Key="index.html") == "AccessDenied"
        # The website turned off (the bucket stays public): every request needs TLS again.
        public = InstanceConfig(public=True)
        run_concurrently(pool, configuration_calls(s3, name, website, public, tls_endpoint=True))
        document = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
        assert [s["Sid"] for s in document["Statement"]] == [documents.TLS_ONLY_SID, documents.PUBLIC_READ_SID]
        assert not anyone_may(document, False, "s3:GetObject", page, {"aws:SecureTransport": "false"})
