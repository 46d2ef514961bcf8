"""`python -m broker check`: the operator's preflight, before pushing or after changing the AWS set-up.

Each check ends as ok, FAIL (with what to do) or "not checked" (with why): a check that could not
ask never counts as passed. The settings are read as the broker reads them on Cloud Foundry, the
key's rights are asked of IAM (SimulatePrincipalPolicy) for each thing the broker does, and the
boundary must be the document `python -m broker policy boundary` prints and the one the broker policy
names (boundary_check.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from broker.aws.identity import CallerIdentity
from broker.policy import account_policies
from broker.policy.account_policies import AccountFacts
from broker.server import permission_reading
from broker.server.boundary_check import boundary
from broker.server.findings import FAIL, NOT_CHECKED, OK, UPDATE_BROKER_POLICY, Finding
from broker.settings import Settings, SettingsError, from_env

# What stands for a GUID in the sample resources the simulation is asked about.
SAMPLE_ID = "00000000-0000-4000-8000-000000000000"


def settings_on_cloud_foundry(environ: Mapping[str, str]) -> Finding:
    """The settings as the broker reads them when VCAP_APPLICATION says it runs on Cloud Foundry."""
    try:
        from_env({**environ, "VCAP_APPLICATION": environ.get("VCAP_APPLICATION", "{}")})
    except SettingsError as error:
        return Finding(
            FAIL,
            "settings on Cloud Foundry",
            f"the broker would refuse to start: {error}",
            "set what it names: cf set-env s3-broker NAME VALUE",
        )
    return Finding(OK, "settings on Cloud Foundry", "every required setting is set and valid")


def region(settings: Settings, identity: CallerIdentity, known_regions: Callable[[str], list[str]]) -> Finding:
    """The region belongs to the key's partition (an aws-cn key cannot make buckets in eu-west-2)."""
    key_partition = identity.arn.split(":")[1]
    topic = "region and partition"
    if key_partition != settings.partition:
        return Finding(
            FAIL,
            topic,
            f"AWS_REGION {settings.aws_region} is in partition {settings.partition}, the key in {key_partition}",
            "set AWS_REGION to a region of the key's partition, or use a key of the region's",
        )
    regions = known_regions(settings.partition)
    if regions and settings.aws_region not in regions:
        return Finding(
            FAIL, topic, f"AWS_REGION {settings.aws_region} is no S3 region of {settings.partition}", "set AWS_REGION"
        )
    return Finding(OK, topic, f"region {settings.aws_region}, partition {settings.partition}")


@dataclass(frozen=True)
class Question:
    """One statement of the broker policy, asked as: may the key do these actions on this resource?"""

    sid: str
    allow: bool
    actions: tuple[str, ...]
    resource: str
    context: tuple[tuple[str, str], ...]


def questions(policy: Mapping[str, Any], user_name: str) -> list[Question]:
    """One question per statement, its resource pattern made into a resource the broker would name."""
    asked = []
    for statement in policy["Statement"]:
        resources = statement["Resource"]
        pattern = resources[0] if isinstance(resources, list) else resources
        resource = pattern if pattern == "*" else pattern.replace("${aws:username}", user_name).replace("*", SAMPLE_ID)
        context = tuple(
            (key, value)
            for operator, pairs in statement.get("Condition", {}).items()
            if operator.startswith("String")
            for key, value in pairs.items()
        )
        asked.append(
            Question(statement["Sid"], statement["Effect"] == "Allow", tuple(statement["Action"]), resource, context)
        )
    return asked


def principal_arn(identity: CallerIdentity) -> str:
    """What SimulatePrincipalPolicy takes: a role's ARN for an assumed role's session."""
    match = re.fullmatch(r"arn:([^:]+):sts::(\d+):assumed-role/([^/]+)/.+", identity.arn)
    return f"arn:{match[1]}:iam::{match[2]}:role/{match[3]}" if match else identity.arn


def simulate(iam: Any, principal: str, question: Question) -> list[str]:
    """The actions of the question whose answer is not what the broker needs."""
    answer = iam.simulate_principal_policy(
        PolicySourceArn=principal,
        ActionNames=list(question.actions),
        ResourceArns=[question.resource],
        ContextEntries=[
            {"ContextKeyName": key, "ContextKeyValues": [value], "ContextKeyType": "string"}
            for key, value in question.context
        ],
    )
    return [
        result["EvalActionName"]
        for result in answer["EvaluationResults"]
        if (result["EvalDecision"] == "allowed") != question.allow
    ]


def permissions(iam: Any, identity: CallerIdentity, facts: AccountFacts) -> Iterator[Finding]:
    """Ask IAM, statement by statement of the broker policy, whether the key may do what the broker does."""
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    from broker.aws.errors import error_code

    user_name = identity.arn.rsplit("/", 1)[-1]
    asked = questions(account_policies.broker_policy(facts), user_name)
    principal = principal_arn(identity)
    try:
        wrong = {question.sid: simulate(iam, principal, question) for question in asked}
    except ClientError as error:
        code = error_code(error)
        if code in ("AccessDenied", "AccessDeniedException"):
            yield Finding(
                NOT_CHECKED,
                "permissions",
                "the key may not ask IAM about itself (iam:SimulatePrincipalPolicy)",
                f"give the broker the current policy (statement PreflightAsksAboutItself): {UPDATE_BROKER_POLICY}",
            )
            return
        yield from permission_reading.fallback(iam, user_name, asked, f"it answered {code}")
        return
    except ResponseParserError:  # the whole page it sent instead is in the error: not worth printing
        yield from permission_reading.fallback(iam, user_name, asked, "it sent no answer botocore could read")
        return
    except BotoCoreError as error:
        yield from permission_reading.fallback(iam, user_name, asked, str(error))
        return
    for question in asked:
        topic = f"permissions {question.sid}"
        if not wrong[question.sid]:
            verb = "may" if question.allow else "may not"
            yield Finding(OK, topic, f"the key {verb} {len(question.actions)} action(s) on {question.resource}")
        elif question.allow:
            yield Finding(
                FAIL,
                topic,
                f"the key may not {', '.join(wrong[question.sid])} on {question.resource}",
                UPDATE_BROKER_POLICY,
            )
        else:
            yield Finding(FAIL, topic, f"the key MAY {', '.join(wrong[question.sid])}", UPDATE_BROKER_POLICY)


def known_regions(partition: str) -> list[str]:
    """S3's regions in a partition, from botocore's endpoint table (empty if it knows none)."""
    import botocore.session

    return botocore.session.get_session().get_available_regions("s3", partition_name=partition)


def findings(environ: Mapping[str, str], settings: Settings) -> Iterator[Finding]:
    from botocore.exceptions import BotoCoreError, ClientError

    from broker.aws.clients import make_clients
    from broker.aws.identity import caller_identity

    yield settings_on_cloud_foundry(environ)
    clients = make_clients(settings)
    try:
        identity = caller_identity(settings, clients.sts)
    except (ClientError, BotoCoreError) as error:
        fix = "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" + (
            " and AWS_ENDPOINT_URL" if settings.aws_endpoint_url else ""
        )
        yield Finding(FAIL, "AWS credentials", f"AWS refused or could not be reached: {error}", fix)
        return
    yield Finding(OK, "AWS credentials", f"account {identity.account_id}, identity {identity.arn}")
    yield region(settings, identity, known_regions)
    facts = account_policies.facts_for(settings, identity.account_id)
    knowingly_without = environ.get("ALLOW_USERS_WITHOUT_BOUNDARY", "").strip().lower() == "true"
    yield boundary(settings, clients.iam, facts, identity, knowingly_without=knowingly_without)
    yield from permissions(clients.iam, identity, facts)


def report(found: list[Finding]) -> str:
    width = max(len(finding.status) for finding in found)
    lines = []
    for finding in found:
        lines.append(f"{finding.status:<{width}}  {finding.topic}: {finding.detail}")
        if finding.fix and finding.status != OK:
            lines.append(f"{'':<{width}}  what to do: {finding.fix}")
    counts = {status: sum(finding.status == status for finding in found) for status in (OK, NOT_CHECKED, FAIL)}
    lines.append(f"{counts[OK]} ok, {counts[NOT_CHECKED]} not checked, {counts[FAIL]} failed")
    return "\n".join(lines)


def run(environ: Mapping[str, str], settings: Settings) -> int:
    """Print every finding; exit status 1 if any failed."""
    found = list(findings(environ, settings))
    print(report(found))
    return 1 if any(finding.status == FAIL for finding in found) else 0
