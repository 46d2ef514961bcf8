"""The S3 calls that take a bucket from one configuration to another: pure in what they decide,
each call independent of the others so that they can run at once."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from broker import bucket_names
from broker.aws.errors import aws_errors
from broker.aws_names import US_EAST_1
from broker.model import bucket_options, s3_configuration
from broker.model.parameters import InstanceConfig
from broker.policy import documents


def create_bucket_arguments(bucket: str, region: str, ownership: str = bucket_options.OWNER_ENFORCED) -> dict[str, Any]:
    """CreateBucket's arguments: the object ownership (ACLs disabled unless asked for); a
    LocationConstraint everywhere but us-east-1; the namespace of an account-regional name."""
    arguments: dict[str, Any] = {"Bucket": bucket, "ObjectOwnership": ownership}
    if bucket_names.in_account_regional_namespace(bucket):
        arguments["BucketNamespace"] = bucket_names.ACCOUNT_REGIONAL  # x-amz-bucket-namespace
    if region != US_EAST_1:
        arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
    return arguments


def encryption_rules(kms_key_arn: str | None) -> dict[str, Any]:
    if kms_key_arn:
        default: dict[str, str] = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key_arn}
        return {"Rules": [{"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": True}]}
    return {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}


def configuration_calls(
    s3: Any,
    bucket: str,
    old: InstanceConfig | None,
    new: InstanceConfig,
    *,
    explicit: bool = False,
    tls_endpoint: bool = True,
) -> list[Callable[[], None]]:
    """The independent calls that take a bucket from `old` to `new`; each may run at once with the others.

    Access is one call chain because order matters on AWS: the policy blocks of Block Public
    Access must be relaxed before a public policy is accepted, and a public policy is replaced
    (by the TLS-only Deny, which is not public) or removed before they are raised again.
    """
    fresh = old is None and not explicit
    calls: list[Callable[[], None]] = []
    options = new.options

    def access() -> None:
        document = documents.bucket_policy(
            bucket,
            public=new.public,
            tls_only=options.require_tls and tls_endpoint,
            referers=options.public_read_referers if new.public else (),
            website=new.public and options.website is not None,
        )
        with aws_errors(f"set the bucket policy and public access of bucket {bucket}"):
            if new.public:
                s3.put_public_access_block(
                    Bucket=bucket, PublicAccessBlockConfiguration=documents.public_access_block(True)
                )
            if document:
                s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(document))
            elif not fresh:
                s3.delete_bucket_policy(Bucket=bucket)  # answers 204 when there is none
            if not new.public:
                s3.put_public_access_block(
                    Bucket=bucket, PublicAccessBlockConfiguration=documents.public_access_block(False)
                )

    def encryption() -> None:
        with aws_errors(f"set default encryption on bucket {bucket}"):
            s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=encryption_rules(new.kms_key_arn))

    def versioning() -> None:
        with aws_errors(f"set versioning on bucket {bucket}"):
            status = "Enabled" if new.versioning else "Suspended"
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})

    def cors() -> None:
        with aws_errors(f"set the CORS rules of bucket {bucket}"):
            if new.cors_rules:
                s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": new.cors_rules})
            else:
                s3.delete_bucket_cors(Bucket=bucket)

    def lifecycle() -> None:
        rules = s3_configuration.lifecycle_rules(options.lifecycle)
        with aws_errors(f"set the lifecycle rules of bucket {bucket}"):
            if rules:
                s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
            else:
                s3.delete_bucket_lifecycle(Bucket=bucket)

    def website() -> None:
        with aws_errors(f"set the website configuration of bucket {bucket}"):
            if options.website:
                configuration = s3_configuration.website_configuration(options.website)
                s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration=configuration)
            else:
                s3.delete_bucket_website(Bucket=bucket)

    def ownership() -> None:
        with aws_errors(f"set the object ownership of bucket {bucket}"):
            rules = [{"ObjectOwnership": options.object_ownership}]
            s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": rules})

    if old is None:
        calls += [access, encryption]
        if new.versioning or explicit:
            calls.append(versioning)
        if new.cors_rules or explicit:
            calls.append(cors)
        if not options.lifecycle.empty or explicit:
            calls.append(lifecycle)
        if options.website or explicit:
            calls.append(website)
        if explicit:  # CreateBucket set it on a bucket made now
            calls.append(ownership)
        return calls
    before = old.options
    # Whether there is a website is part of the bucket policy too (its visitors' reads go without TLS).
    if (old.public, before.require_tls, before.public_read_referers, before.website is None) != (
        new.public,
        options.require_tls,
        options.public_read_referers,
        options.website is None,
    ):
        calls.append(access)
    if old.kms_key_arn != new.kms_key_arn:
        calls.append(encryption)
    if old.versioning != new.versioning:
        calls.append(versioning)
    if old.cors_rules != new.cors_rules:
        calls.append(cors)
    if before.lifecycle != options.lifecycle:
        calls.append(lifecycle)
    if before.website != options.website:
        calls.append(website)
    if before.object_ownership != options.object_ownership:
        calls.append(ownership)
    return calls
