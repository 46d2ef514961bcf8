"""Every environment variable the broker reads, parsed and checked once, in one place."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from broker import bucket_names
from broker.aws_names import US_EAST_1
from broker.setting_values import (
    SettingsError,
    check_bucket_prefix,
    check_iam_user_path,
    check_iam_user_prefix,
    parse_cidrs,
    parse_external_accounts,
    parse_kms_key_arns,
    parse_vpc_endpoint_ids,
)

# IAM users an AWS account may have (IAM quotas; not adjustable).
IAM_USERS_QUOTA = 5000

DEFAULT_CATALOG = Path(__file__).resolve().parent.parent / "catalog.yml"


@dataclass(frozen=True)
class Settings:
    broker_username: str
    broker_password: str
    aws_region: str = US_EAST_1
    aws_endpoint_url: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = field(default=None, repr=False)
    bucket_prefix: str = "cf-s3-"
    # S3's global namespace, or the account-regional one (names only this account can create).
    bucket_namespace: str = bucket_names.GLOBAL
    # The broker's own account, asked of STS when the app is made (account-regional names hold it).
    account_id: str = ""
    iam_user_prefix: str = "cf-s3-"
    iam_user_path: str = "/cf-s3-broker/"
    iam_permissions_boundary_arn: str | None = None
    allowed_source_cidrs: tuple[str, ...] = ()
    allowed_vpc_endpoint_ids: tuple[str, ...] = ()
    allowed_kms_key_arns: tuple[str, ...] = ()
    # Accounts whose buckets keys may name in external_buckets: (account id, org GUID or None for every org).
    allowed_external_accounts: tuple[tuple[str, str | None], ...] = ()
    key_propagation_timeout: float = 30.0
    request_deadline: float = 30.0
    deploy_env: str = ""
    catalog_path: Path = DEFAULT_CATALOG
    log_level: str = "INFO"
    # Deprovision empties a bucket of at most this many objects (versions, delete markers, unfinished
    # uploads) within the request; a bigger one is emptied asynchronously, S3's lifecycle rules doing
    # the bulk and each last_operation poll deleting up to this many more (at most one listing page).
    deprovision_sync_max_objects: int = 1000
    # AWS allows 5,000 IAM users an account, not adjustable, shared by every tenant: a bind past
    # either limit is refused (broker/operations/binding_limits.py).
    max_bindings_per_instance: int = 50
    max_iam_users: int = 4500
    # Waits: production's values, settable so a test suite need not sit them out.
    # A request body must arrive within this many seconds (408 otherwise; broker/http/bodies.py).
    body_deadline: float = 10.0
    # Per AWS attempt: AWS answers these calls in well under a second, so a few seconds means it hangs.
    # A setting may shorten it, not lengthen it (other bounds count on at most this).
    aws_read_timeout: float = 6.0
    # botocore's cap on one retry's wait (its own default); it waits a random part of
    # min(1 s x 2^attempt, this) after a throttle.
    aws_retry_max_backoff: float = 20.0

    def __post_init__(self) -> None:
        check_bucket_prefix(self.bucket_prefix)
        bucket_names.check_room(self.bucket_prefix, self.bucket_namespace, self.aws_region)
        check_iam_user_prefix(self.iam_user_prefix)
        check_iam_user_path(self.iam_user_path)
        if not self.broker_username or not self.broker_password:
            raise SettingsError("BROKER_USERNAME and BROKER_PASSWORD must both be set")
        if self.key_propagation_timeout < 0:
            raise SettingsError("KEY_PROPAGATION_TIMEOUT must be zero or more seconds")
        if not 0 < self.aws_read_timeout <= Settings.aws_read_timeout:
            raise SettingsError(
                f"AWS_READ_TIMEOUT must be more than 0 and at most {Settings.aws_read_timeout:g} seconds"
            )
        if not 0 <= self.deprovision_sync_max_objects <= 1000:
            raise SettingsError("DEPROVISION_SYNC_MAX_OBJECTS must be 0 to 1000 (one listing page)")
        if not 1 <= self.max_bindings_per_instance <= IAM_USERS_QUOTA:
            raise SettingsError(f"MAX_BINDINGS_PER_INSTANCE must be 1 to {IAM_USERS_QUOTA}")
        if not 1 <= self.max_iam_users <= IAM_USERS_QUOTA:
            raise SettingsError(f"MAX_IAM_USERS must be 1 to {IAM_USERS_QUOTA} (AWS's users per account)")

    @property
    def partition(self) -> str:
        return partition_of(self.aws_region)

    @property
    def s3_endpoint(self) -> str:
        """The S3 endpoint an app should use, as handed out in credentials."""
        if self.aws_endpoint_url:
            return self.aws_endpoint_url.rstrip("/")
        return f"https://s3.{self.aws_region}.{dns_suffix(self.partition)}"

    @property
    def s3_service_name(self) -> str:
        """How KMS names S3 in `kms:ViaService` for this region."""
        return f"s3.{self.aws_region}.{dns_suffix(self.partition)}"

    @property
    def external_account_ids(self) -> tuple[str, ...]:
        """Every account external buckets may belong to, whatever the org (what the boundary allows)."""
        return tuple(sorted({account for account, _org in self.allowed_external_accounts}))

    def external_accounts_for(self, orgs: Collection[str]) -> tuple[str, ...]:
        """The accounts a binding made for these orgs may reach: those open to every one of the orgs."""
        open_to: dict[str, set[str | None]] = {}
        for account, org in self.allowed_external_accounts:
            open_to.setdefault(account, set()).add(org)
        orgs = set(orgs)
        return tuple(sorted(a for a, allowed in open_to.items() if None in allowed or (orgs and orgs <= allowed)))

    def bucket_name(self, instance_id: str) -> str:
        return bucket_names.bucket_name(
            self.bucket_prefix, instance_id, self.bucket_namespace, self.account_id, self.aws_region
        )

    def user_name(self, binding_id: str) -> str:
        """IAM user names are case-insensitive on AWS: ids differing only in case name one user. The id
        is lower-cased so every IAM (the local one is case-sensitive) sees them meet; the user's
        binding-id tag, compared exactly, tells them apart."""
        return f"{self.iam_user_prefix}{binding_id.lower()}"

    def user_path(self, instance_id: str) -> str:
        """Binding users live under a path per instance, so one ListUsers call finds an instance's users."""
        return f"{self.iam_user_path}{instance_id}/"


# Regions outside the commercial partition, by the start of their names; ARNs and endpoints differ there.
PARTITIONS = (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"), ("us-isob-", "aws-iso-b"), ("us-iso-", "aws-iso"))
DNS_SUFFIXES = {"aws-cn": "amazonaws.com.cn", "aws-iso": "c2s.ic.gov", "aws-iso-b": "sc2s.sgov.gov"}


def partition_of(region: str) -> str:
    """The AWS partition a region belongs to: ARNs there start with arn:PARTITION:."""
    return next((partition for start, partition in PARTITIONS if region.startswith(start)), "aws")


def dns_suffix(partition: str) -> str:
    return DNS_SUFFIXES.get(partition, "amazonaws.com")


def flag(environ: Mapping[str, str], name: str) -> bool:
    value = environ.get(name, "").strip().lower()
    if value not in ("", "true", "false"):
        raise SettingsError(f"{name} must be true or false")
    return value == "true"


def on_cloud_foundry(environ: Mapping[str, str]) -> bool:
    return "VCAP_APPLICATION" in environ


def aws_configured(environ: Mapping[str, str]) -> bool:
    """Whether the operator pointed the broker at an AWS account.

    Only the variables that name credentials or an endpoint count: some machines set unrelated
    AWS_* variables (AWS_CA_BUNDLE) that say nothing about an account.
    """
    return any(environ.get(name) for name in ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_ENDPOINT_URL"))


def seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    try:
        value = float(environ.get(name, default))
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds") from None
    if not 0 < value <= 50:  # the Cloud Controller gives up after 60 s; cleanup needs some too
        raise SettingsError(f"{name} must be more than 0 and at most 50 seconds")
    return value


def whole_number(environ: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(environ.get(name, default))
    except ValueError:
        raise SettingsError(f"{name} must be a whole number") from None


def from_env(environ: Mapping[str, str]) -> Settings:
    """Build settings from the environment of a broker pointed at AWS (or any S3/IAM endpoint)."""
    if on_cloud_foundry(environ):
        missing = [
            name
            for name in (
                "BROKER_USERNAME",
                "BROKER_PASSWORD",
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_REGION",
            )
            if not environ.get(name)
        ]
        if missing:
            raise SettingsError(f"on Cloud Foundry these settings are required: {', '.join(missing)}")
        if not environ.get("IAM_PERMISSIONS_BOUNDARY_ARN") and not flag(environ, "ALLOW_USERS_WITHOUT_BOUNDARY"):
            raise SettingsError(
                "IAM_PERMISSIONS_BOUNDARY_ARN is required on Cloud Foundry: every binding user gets that permissions "
                "boundary, and the broker policy lets the broker create users only with it, so a leaked broker key "
                "cannot make an admin. Create it from `python -m broker policy boundary` (see docs/operators.md), "
                "or set ALLOW_USERS_WITHOUT_BOUNDARY=true to run without one knowingly."
            )
    try:
        timeout = float(environ.get("KEY_PROPAGATION_TIMEOUT", "30"))
    except ValueError:
        raise SettingsError("KEY_PROPAGATION_TIMEOUT must be a number of seconds") from None
    try:
        sync_max_objects = int(environ.get("DEPROVISION_SYNC_MAX_OBJECTS", "1000"))
    except ValueError:
        raise SettingsError("DEPROVISION_SYNC_MAX_OBJECTS must be a whole number") from None
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or US_EAST_1
    return Settings(
        broker_username=environ.get("BROKER_USERNAME", ""),
        broker_password=environ.get("BROKER_PASSWORD", ""),
        aws_region=region,
        aws_endpoint_url=environ.get("AWS_ENDPOINT_URL") or None,
        aws_access_key_id=environ.get("AWS_ACCESS_KEY_ID") or None,
        aws_secret_access_key=environ.get("AWS_SECRET_ACCESS_KEY") or None,
        bucket_prefix=environ.get("BUCKET_PREFIX", "cf-s3-"),
        bucket_namespace=environ.get("BUCKET_NAMESPACE", bucket_names.GLOBAL).strip().lower(),
        iam_user_prefix=environ.get("IAM_USER_PREFIX", "cf-s3-"),
        iam_user_path=environ.get("IAM_USER_PATH", "/cf-s3-broker/"),
        iam_permissions_boundary_arn=environ.get("IAM_PERMISSIONS_BOUNDARY_ARN") or None,
        allowed_source_cidrs=parse_cidrs(environ.get("ALLOWED_SOURCE_CIDRS", "")),
        allowed_vpc_endpoint_ids=parse_vpc_endpoint_ids(environ.get("ALLOWED_VPC_ENDPOINT_IDS", "")),
        allowed_kms_key_arns=parse_kms_key_arns(environ.get("ALLOWED_KMS_KEY_ARNS", ""), partition_of(region)),
        allowed_external_accounts=parse_external_accounts(environ.get("ALLOWED_EXTERNAL_ACCOUNT_IDS", "")),
        key_propagation_timeout=timeout,
        request_deadline=seconds(environ, "REQUEST_DEADLINE", 30.0),
        deploy_env=environ.get("DEPLOY_ENV", ""),
        catalog_path=Path(environ.get("CATALOG_PATH") or DEFAULT_CATALOG),
        log_level=environ.get("LOG_LEVEL", "INFO").upper(),
        deprovision_sync_max_objects=sync_max_objects,
        max_bindings_per_instance=whole_number(environ, "MAX_BINDINGS_PER_INSTANCE", 50),
        max_iam_users=whole_number(environ, "MAX_IAM_USERS", 4500),
        body_deadline=seconds(environ, "BODY_DEADLINE", Settings.body_deadline),
        aws_read_timeout=seconds(environ, "AWS_READ_TIMEOUT", Settings.aws_read_timeout),
        aws_retry_max_backoff=seconds(environ, "AWS_RETRY_MAX_BACKOFF", Settings.aws_retry_max_backoff),
    )
