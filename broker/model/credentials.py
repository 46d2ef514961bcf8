"""What an app receives in VCAP_SERVICES (or `cf service-key`) for a binding."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from broker.model.access_keys import AccessKey
from broker.model.parameters import BindingConfig


def s3_uri(key: AccessKey, endpoint: str, bucket: str) -> str:
    host = urlsplit(endpoint).netloc
    return f"s3://{quote(key.access_key_id, safe='')}:{quote(key.secret_access_key, safe='')}@{host}/{bucket}"


def binding_credentials(
    *,
    key: AccessKey,
    bucket: str,
    region: str,
    endpoint: str,
    deploy_env: str,
    user_arn: str,
    config: BindingConfig,
    additional_buckets: list[str],
    external_bucket_policies: dict[str, Any],
) -> dict[str, Any]:
    """Both platforms' key names (GOV.UK PaaS and cloud.gov), so apps written for either work unchanged."""
    credentials: dict[str, Any] = {
        # GOV.UK PaaS names
        "bucket_name": bucket,
        "aws_access_key_id": key.access_key_id,
        "aws_secret_access_key": key.secret_access_key,
        "aws_region": region,
        # cloud.gov names
        "bucket": bucket,
        "access_key_id": key.access_key_id,
        "secret_access_key": key.secret_access_key,
        "region": region,
        # both
        "uri": s3_uri(key, endpoint, bucket),
        "endpoint": endpoint,
        "iam_user_arn": user_arn,
        "permissions": config.permissions,
    }
    if deploy_env:  # left out when the operator set none: an empty string tells an app nothing
        credentials["deploy_env"] = deploy_env
    if config.path_prefix:
        credentials["path_prefix"] = config.path_prefix
    if config.additional_instances:
        credentials["additional_buckets"] = additional_buckets
    if config.external_buckets:
        credentials["external_bucket_policies"] = external_bucket_policies
    return credentials
