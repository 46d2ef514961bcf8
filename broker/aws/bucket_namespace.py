"""At start: the bucket namespace chosen (BUCKET_NAMESPACE) is the one the deployment's buckets are in.

A deployment's instance ids map to bucket names by the namespace; changed with instances in place,
the broker would look for every existing instance under a name it does not have. One ListBuckets
call (with the prefix) per start finds buckets named for the other namespace.
"""

from __future__ import annotations

from typing import Any

from broker import bucket_names
from broker.aws.errors import aws_errors
from broker.setting_values import SettingsError
from broker.settings import Settings


def check_bucket_namespace(s3: Any, settings: Settings) -> None:
    """Raise SettingsError if buckets of this prefix are named for the namespace not chosen."""
    with aws_errors(f"list the buckets named {settings.bucket_prefix}*"):
        pages = s3.get_paginator("list_buckets").paginate(Prefix=settings.bucket_prefix)
        names = [bucket["Name"] for page in pages for bucket in page.get("Buckets", [])]
    others = bucket_names.of_the_other_namespace(names, settings.bucket_prefix, settings.bucket_namespace)
    if others:
        raise SettingsError(
            f"BUCKET_NAMESPACE={settings.bucket_namespace}, but {len(others)} of the broker's buckets were made in "
            f"the other namespace (such as {others[0]}): the namespace is chosen when a deployment starts and "
            "cannot change while it has instances. Set BUCKET_NAMESPACE back, or use a new BUCKET_PREFIX."
        )
