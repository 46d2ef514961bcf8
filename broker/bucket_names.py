"""How an instance id becomes its bucket's name, in S3's global or account-regional namespace. Pure functions.

S3 bucket names are global: after a deprovision, another account may create a bucket of the same
name. A name of the account-regional namespace ends in `-ACCOUNT-REGION-an`, which only that
account can create (CreateBucket with `x-amz-bucket-namespace: account-regional`). The suffix
leaves no room for a 36-character GUID within S3's 63, so there the id is written in base32
(26 characters of a-z and 2-7): one name per id, as before.
"""

from __future__ import annotations

import base64
import re
import uuid

from broker.aws_names import S3_BUCKET_NAME_MAX
from broker.setting_values import SettingsError

GLOBAL = "global"
ACCOUNT_REGIONAL = "account-regional"
NAMESPACES = (GLOBAL, ACCOUNT_REGIONAL)
COMPACT_ID_LENGTH = 26
ACCOUNT_ID_LENGTH = 12
GUID_FORM = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def regional_suffix(account_id: str, region: str) -> str:
    return f"-{account_id}-{region}-an"


def compact_id(instance_id: str) -> str:
    """The GUID's 128 bits in lower-case base32, without padding."""
    return base64.b32encode(uuid.UUID(instance_id).bytes).decode().rstrip("=").lower()


def bucket_name(prefix: str, instance_id: str, namespace: str, account_id: str, region: str) -> str:
    if namespace == GLOBAL:
        return f"{prefix}{instance_id}"
    if not account_id:
        raise ValueError("account-regional bucket names need the broker's account id (asked of STS at start)")
    return f"{prefix}{compact_id(instance_id)}{regional_suffix(account_id, region)}"


def in_account_regional_namespace(bucket: str) -> bool:
    """Whether a name is of the account-regional namespace (S3 reserves the suffix for it)."""
    return re.fullmatch(r".+-[0-9]{12}-[a-z0-9-]+-an", bucket) is not None


def check_room(prefix: str, namespace: str, region: str) -> None:
    if namespace not in NAMESPACES:
        raise SettingsError(f"BUCKET_NAMESPACE must be {' or '.join(NAMESPACES)} (got {namespace!r})")
    if namespace == ACCOUNT_REGIONAL:
        room = S3_BUCKET_NAME_MAX - COMPACT_ID_LENGTH - len(regional_suffix("0" * ACCOUNT_ID_LENGTH, region))
        if len(prefix) > room:
            raise SettingsError(
                f"BUCKET_PREFIX {prefix!r} is too long for BUCKET_NAMESPACE=account-regional in {region}: "
                f"at most {room} characters, so that the id and the suffix -ACCOUNT-{region}-an fit S3's "
                f"{S3_BUCKET_NAME_MAX}"
            )


def of_the_other_namespace(names: list[str], prefix: str, namespace: str) -> list[str]:
    """The broker's buckets (by prefix) named for the namespace not chosen: instances made before a change."""
    ours = [name[len(prefix) :] for name in names if name.startswith(prefix)]
    if namespace == GLOBAL:
        return [prefix + rest for rest in ours if in_account_regional_namespace(prefix + rest)]
    return [prefix + rest for rest in ours if GUID_FORM.fullmatch(rest)]
