"""How the text of each setting is checked and read: names the broker builds ARNs from, and lists.

Pure functions; each raises SettingsError naming the environment variable, so the broker does not start.
"""

from __future__ import annotations

import ipaddress
import re

from broker.aws_names import IAM_NAME_CHARACTERS, IAM_USER_NAME_MAX, S3_BUCKET_NAME_MAX, S3_RESERVED_PREFIXES

GUID_LENGTH = 36


class SettingsError(ValueError):
    """A setting is missing or wrong; the broker must not start."""


def check_bucket_prefix(prefix: str) -> None:
    """A bucket prefix must leave a valid S3 bucket name once a GUID is appended.

    It must not be empty: the broker's own policy allows `arn:aws:s3:::PREFIX*`, which an empty
    prefix would turn into every bucket of the account. It ends with '-' so that it reads as a
    namespace of its own.
    """
    if len(prefix) + GUID_LENGTH > S3_BUCKET_NAME_MAX:
        raise SettingsError(
            f"BUCKET_PREFIX {prefix!r} is too long: at most {S3_BUCKET_NAME_MAX - GUID_LENGTH} characters"
        )
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*-", prefix):
        raise SettingsError(
            f"BUCKET_PREFIX {prefix!r} must start with a lower-case letter or digit, hold only a-z, 0-9 and '-', "
            "and end with '-' (an empty prefix would let the broker's policy reach every bucket of the account)"
        )
    if prefix.startswith(S3_RESERVED_PREFIXES):
        raise SettingsError(f"BUCKET_PREFIX {prefix!r} uses a prefix S3 reserves")


def check_iam_user_prefix(prefix: str) -> None:
    if len(prefix) + GUID_LENGTH > IAM_USER_NAME_MAX:
        raise SettingsError(
            f"IAM_USER_PREFIX {prefix!r} is too long: at most {IAM_USER_NAME_MAX - GUID_LENGTH} characters"
        )
    if not re.fullmatch(IAM_NAME_CHARACTERS, prefix):
        raise SettingsError(
            f"IAM_USER_PREFIX {prefix!r} must be non-empty and hold only letters, digits and + = , . @ _ -"
        )


def check_iam_user_path(path: str) -> None:
    """IAM's path form, minus what a policy's ARN would read as a wildcard or a policy variable.

    The broker policy's user ARNs are `user${IAM_USER_PATH}*/...`: a '*' or '?' in the path would
    let the broker manage users at any path, and '${' would be taken for a policy variable.
    """
    if not re.fullmatch(r"/([\x21-\x7e]+/)?", path):
        raise SettingsError(f"IAM_USER_PATH {path!r} must start and end with '/' and hold printable ASCII only")
    if any(character in path for character in "*?$"):
        raise SettingsError(
            f"IAM_USER_PATH {path!r} may not hold '*', '?' or '$': in the broker policy's user ARNs they are a "
            "wildcard or a policy variable, and would let the broker manage users at other paths"
        )


def parse_cidrs(value: str) -> tuple[str, ...]:
    cidrs = tuple(part.strip() for part in value.split(",") if part.strip())
    for cidr in cidrs:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError as error:
            raise SettingsError(f"ALLOWED_SOURCE_CIDRS: {cidr!r} is not an IP range ({error})") from None
    return cidrs


VPC_ENDPOINT_ID = re.compile(r"vpce-[0-9a-f]{8}([0-9a-f]{9})?")


def parse_vpc_endpoint_ids(value: str) -> tuple[str, ...]:
    """The platform's S3 VPC endpoints: requests through them count as from the platform."""
    ids = tuple(part.strip() for part in value.split(",") if part.strip())
    for endpoint_id in ids:
        if not VPC_ENDPOINT_ID.fullmatch(endpoint_id):
            raise SettingsError(
                f"ALLOWED_VPC_ENDPOINT_IDS: {endpoint_id!r} is not a VPC endpoint id (vpce- and 8 or 17 hex digits)"
            )
    return ids


KMS_KEY_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+")


def parse_kms_key_arns(value: str, partition: str) -> tuple[str, ...]:
    """The KMS keys tenants may name in kms_key_arn: full key ARNs of this partition."""
    arns = tuple(part.strip() for part in value.split(",") if part.strip())
    for arn in arns:
        if not KMS_KEY_ARN.fullmatch(arn) or arn.split(":")[1] != partition:
            raise SettingsError(
                f"ALLOWED_KMS_KEY_ARNS: {arn!r} is not a KMS key ARN (arn:{partition}:kms:REGION:ACCOUNT:key/ID)"
            )
    return arns


ACCOUNT_ID = re.compile(r"[0-9]{12}")
ORG_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def parse_external_accounts(value: str) -> tuple[tuple[str, str | None], ...]:
    """`ACCOUNT` (every org) or `ACCOUNT:ORG_GUID` (that org only), comma-separated."""
    accounts: list[tuple[str, str | None]] = []
    for part in (part.strip() for part in value.split(",")):
        if not part:
            continue
        account, colon, org = part.partition(":")
        if not ACCOUNT_ID.fullmatch(account) or (colon and not ORG_GUID.fullmatch(org)):
            raise SettingsError(
                f"ALLOWED_EXTERNAL_ACCOUNT_IDS: {part!r} is not an AWS account id (12 digits), optionally "
                "limited to one org as ACCOUNT:ORG_GUID (`cf org NAME --guid`)"
            )
        accounts.append((account, org or None))
    return tuple(accounts)
