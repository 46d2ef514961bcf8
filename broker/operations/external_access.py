"""Which other accounts' buckets a binding may name in external_buckets. Pure checks, no AWS calls.

A bucket whose policy trusts the platform's account (`arn:aws:iam::PLATFORM:root`) or its AWS
Organization (`aws:PrincipalOrgID`) would admit every tenant who names it, so external access is
off until the operator names the accounts (ALLOWED_EXTERNAL_ACCOUNT_IDS), and a key reaches only
buckets of those accounts (s3:ResourceAccount), whatever their names.
"""

from __future__ import annotations

from broker.errors import InvalidParameters
from broker.model.parameters import BindingConfig
from broker.model.records import StoredInstance
from broker.setting_values import SettingsError
from broker.settings import Settings

ASK_THE_OPERATOR = "Ask the platform's operator to allow the account that owns the buckets."


def check_accounts(settings: Settings, own_account: str) -> None:
    """At start: the allowed accounts are other accounts; the platform's own would open its buckets to all."""
    if own_account in settings.external_account_ids:
        raise SettingsError(
            f"ALLOWED_EXTERNAL_ACCOUNT_IDS names {own_account}, the broker's own account: external_buckets "
            "reach other accounts' buckets only. Remove it."
        )


def check_buckets(settings: Settings, config: BindingConfig) -> None:
    """External buckets are other accounts' buckets: never one of this broker's instances."""
    for bucket in config.external_buckets:
        if bucket.startswith(settings.bucket_prefix):
            raise InvalidParameters(
                f"external_buckets: {bucket!r} is named like a bucket of this broker (prefix "
                f"{settings.bucket_prefix!r}); external_buckets are for buckets of other AWS accounts. "
                "To reach another service instance of your own org, use additional_instances with its GUID."
            )
    if config.external_buckets and not settings.allowed_external_accounts:
        raise InvalidParameters(
            "external_buckets is off on this platform: it allows no other AWS account "
            f"(ALLOWED_EXTERNAL_ACCOUNT_IDS is not set). {ASK_THE_OPERATOR}"
        )


def accounts_for(
    settings: Settings, config: BindingConfig, instance: StoredInstance, context_org: str | None
) -> tuple[str, ...]:
    """The accounts this binding's external buckets may belong to: those open to the instance's org
    and to the org the binding is made in (an account limited to orgs must be open to both)."""
    if not config.external_buckets:
        return ()
    orgs = {org for org in (instance.record.org_guid, context_org) if org}
    accounts = settings.external_accounts_for(orgs)
    if not accounts:
        raise InvalidParameters(
            f"external_buckets: this platform allows no other AWS account for this org "
            f"(ALLOWED_EXTERNAL_ACCOUNT_IDS). {ASK_THE_OPERATOR}"
        )
    return accounts  # never own_account: check_accounts refuses it at start, user_policy once more
