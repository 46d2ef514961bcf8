"""The two IAM documents an operator puts into the AWS account, filled in from the settings.

`broker-policy.json` is the broker's own identity policy; `boundary-policy.json` is the
permissions boundary every binding user gets. The broker may create users and set their
policies only with that boundary attached, so a leaked broker key cannot make an admin.
Pure functions: the account id comes from the caller (STS GetCallerIdentity).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from broker.settings import Settings

TEMPLATES = Path(__file__).resolve().parent
BROKER_POLICY = TEMPLATES / "broker-policy.json"
BOUNDARY_POLICY = TEMPLATES / "boundary-policy.json"
DEFAULT_BOUNDARY_NAME = "s3-broker-binding-boundary"
ACCOUNT_ID = re.compile(r"[0-9]{12}")
PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)\}")


@dataclass(frozen=True)
class AccountFacts:
    """What the documents' placeholders stand for."""

    partition: str
    account_id: str
    bucket_prefix: str
    iam_user_path: str
    iam_user_prefix: str
    permissions_boundary_arn: str
    s3_service: str
    # The other accounts whose buckets binding users may reach (external_buckets); none: no other account.
    external_account_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Written into ARNs: anything but 12 digits ('*' above all) would widen every statement.
        if not ACCOUNT_ID.fullmatch(self.account_id):
            raise ValueError(f"{self.account_id!r} is not an AWS account id (12 digits)")

    def values(self) -> dict[str, str | list[str]]:
        return {
            "EXTERNAL_ACCOUNT_IDS": sorted(self.external_account_ids),
            "PARTITION": self.partition,
            "ACCOUNT_ID": self.account_id,
            "BUCKET_PREFIX": self.bucket_prefix,
            "IAM_USER_PATH": self.iam_user_path,
            "IAM_USER_PREFIX": self.iam_user_prefix,
            "PERMISSIONS_BOUNDARY_ARN": self.permissions_boundary_arn,
            "S3_SERVICE": self.s3_service,
        }


def boundary_arn(partition: str, account_id: str, name: str = DEFAULT_BOUNDARY_NAME) -> str:
    return f"arn:{partition}:iam::{account_id}:policy/{name}"


def facts_for(settings: Settings, account_id: str) -> AccountFacts:
    return AccountFacts(
        partition=settings.partition,
        account_id=account_id,
        bucket_prefix=settings.bucket_prefix,
        iam_user_path=settings.iam_user_path,
        iam_user_prefix=settings.iam_user_prefix,
        permissions_boundary_arn=settings.iam_permissions_boundary_arn or boundary_arn(settings.partition, account_id),
        s3_service=settings.s3_service_name,
        external_account_ids=settings.external_account_ids,
    )


def fill(template: str, facts: AccountFacts) -> dict[str, Any]:
    """The template with every ${NAME} replaced; a name without a value is an error, not left in.

    A list (the allowed accounts) replaces a JSON string that is that placeholder alone.
    """
    values = facts.values()

    def one(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise KeyError(f"no value for placeholder {match.group(0)}")
        value = values[match.group(1)]
        if isinstance(value, list):
            raise ValueError(f"{match.group(0)} is a list: it must be a whole JSON string of its own")
        return value

    def filled(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: filled(value) for key, value in node.items()}
        if isinstance(node, list):
            return [filled(item) for item in node]
        if not isinstance(node, str):
            return node
        whole = PLACEHOLDER.fullmatch(node)
        if whole and isinstance(values.get(whole.group(1)), list):
            return list(values[whole.group(1)])
        return PLACEHOLDER.sub(one, node)

    return filled(json.loads(template))


def broker_policy(facts: AccountFacts) -> dict[str, Any]:
    return fill(BROKER_POLICY.read_text(), facts)


def boundary_policy(facts: AccountFacts) -> dict[str, Any]:
    """The boundary; its statements for other accounts' buckets only when the operator allows some."""
    document = fill(BOUNDARY_POLICY.read_text(), facts)
    document["Statement"] = [s for s in document["Statement"] if not _for_no_account(s)]
    return document


def _for_no_account(statement: dict[str, Any]) -> bool:
    return any(values == [] for keys in statement.get("Condition", {}).values() for values in keys.values())
