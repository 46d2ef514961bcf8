"""The preflight's boundary check: the boundary IAM_PERMISSIONS_BOUNDARY_ARN names exists in the
broker's account, is the document `python -m broker policy boundary` prints, and is the one the
broker policy names.

The broker policy lets the key read only the boundary it names (PreflightReadsTheBoundary), so
for any other ARN AWS answers AccessDenied, not NoSuchEntity. That is a failure, not a question
left open: the policy lets the broker create binding users only with the boundary it names
(`iam:PermissionsBoundary`), so every bind would be refused too. The key's own policy, which it
may read, says which boundary it names, and so which of the two to change.
"""

from __future__ import annotations

from typing import Any

from broker.aws.identity import CallerIdentity
from broker.policy import account_policies
from broker.policy.account_policies import AccountFacts
from broker.server.findings import CREATE_BOUNDARY, FAIL, NOT_CHECKED, OK, UPDATE_BROKER_POLICY, Finding, canonical
from broker.server.permission_reading import user_statements
from broker.settings import Settings

TOPIC = "permissions boundary"


def boundaries_named(iam: Any, identity: CallerIdentity) -> set[str] | None:
    """The boundary ARNs the key's own policies let it give users (iam:PermissionsBoundary), or None
    when they cannot be read (a role, or a policy from before the preflight could read itself)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if ":user/" not in identity.arn:
        return None
    try:
        statements = user_statements(iam, identity.arn.rsplit("/", 1)[-1])
    except (ClientError, BotoCoreError):
        return None
    named: set[str] = set()
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        for tests in statement.get("Condition", {}).values():
            for key, values in tests.items():
                if key.lower() == "iam:permissionsboundary":
                    named.update([values] if isinstance(values, str) else values)
    return named


def unreadable(arn: str, code: str, named: set[str] | None) -> Finding:
    """AWS refused the key GetPolicy on the boundary: which boundary the broker policy names says why."""
    if named is not None and arn in named:  # the policy names it, but predates PreflightReadsTheBoundary
        return Finding(
            NOT_CHECKED,
            TOPIC,
            f"the key may not read {arn} ({code})",
            f"give the broker the current policy (statement PreflightReadsTheBoundary): {UPDATE_BROKER_POLICY}",
        )
    reapply = f"if {arn} is the boundary to use, apply the broker policy printed with it set: {UPDATE_BROKER_POLICY}"
    if named:
        names = ", ".join(sorted(named))
        return Finding(
            FAIL,
            TOPIC,
            f"IAM_PERMISSIONS_BOUNDARY_ARN is {arn}, but the broker policy names {names}: AWS refuses the key "
            f"reading it ({code}), and would refuse every bind (users may be created only with the boundary "
            "the policy names)",
            f"set IAM_PERMISSIONS_BOUNDARY_ARN to {names} (cf set-env s3-broker IAM_PERMISSIONS_BOUNDARY_ARN ARN); "
            f"or, {reapply}",
        )
    return Finding(
        FAIL,
        TOPIC,
        f"the key may not read {arn} ({code}): the broker policy names another boundary or none, so every bind "
        "would be refused too",
        reapply[0].upper() + reapply[1:],
    )


def boundary(
    settings: Settings, iam: Any, facts: AccountFacts, identity: CallerIdentity, *, knowingly_without: bool = False
) -> Finding:
    """The boundary exists in the broker's account, is the document the broker would print, and the
    broker policy names it."""
    from botocore.exceptions import ClientError

    from broker.aws.errors import error_code

    arn = settings.iam_permissions_boundary_arn
    if not arn and knowingly_without:
        return Finding(NOT_CHECKED, TOPIC, "none: ALLOW_USERS_WITHOUT_BOUNDARY=true, binding users get no boundary")
    if not arn:
        return Finding(
            FAIL,
            TOPIC,
            "IAM_PERMISSIONS_BOUNDARY_ARN is not set: on Cloud Foundry the broker refuses to start",
            f"create the boundary ({CREATE_BOUNDARY}) and set IAM_PERMISSIONS_BOUNDARY_ARN to its ARN",
        )
    if arn.split(":")[4:5] != [identity.account_id]:
        return Finding(FAIL, TOPIC, f"{arn} is not in the broker's account {identity.account_id}", CREATE_BOUNDARY)
    try:
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    except ClientError as error:
        code = error_code(error)
        if code == "NoSuchEntity":
            return Finding(FAIL, TOPIC, f"{arn} does not exist", f"{CREATE_BOUNDARY}, then set its ARN")
        return unreadable(arn, code, boundaries_named(iam, identity))
    if canonical(document) != canonical(account_policies.boundary_policy(facts)):
        return Finding(
            FAIL,
            TOPIC,
            f"{arn} differs from `python -m broker policy boundary`",
            "python -m broker policy boundary > boundary.json; "
            f"aws iam create-policy-version --policy-arn {arn} --policy-document file://boundary.json --set-as-default",
        )
    return Finding(OK, TOPIC, f"{arn} exists and is the document the broker prints")
