"""Every policy document the broker can produce, over the whole parameter space.

moto enforces actions and resources but not Conditions, boundaries or KMS key policies, so what
keeps a key inside its walls on AWS is checked here as documents: by parliament (an IAM policy
linter) and by invariants that hypothesis tries to break.
"""

from __future__ import annotations

import fnmatch
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from broker.errors import InvalidParameters
from broker.model.catalog import load_catalog
from broker.model.expiry import Expiry
from broker.model.parameters import binding_config
from broker.policy import account_policies, documents
from broker.settings import Settings, from_env
from testing.harness import BASIC, REPO
from testing.policy_lint import serious_findings

OWN_ACCOUNT = "111122223333"
EXTERNAL_ACCOUNTS = ["444455556666", "210987654321"]
PLAN = load_catalog(Path(REPO / "catalog.yml")).plans[BASIC]
READ_ACTION_VERBS = ("s3:Get", "s3:List", "kms:Decrypt")
KMS_KEY = st.from_regex(r"arn:aws:kms:eu-west-2:[0-9]{12}:key/[a-f0-9-]{1,36}", fullmatch=True)
BUCKET = st.from_regex(r"[a-z0-9][a-z0-9.-]{1,20}[a-z0-9]", fullmatch=True)
REGIONS = st.sampled_from(["eu-west-2", "us-east-1", "cn-north-1", "us-gov-west-1"])
VPC_ENDPOINTS = st.sampled_from([(), ("vpce-1a2b3c4d",), ("vpce-0a1b2c3d4e5f60718", "vpce-1a2b3c4d")])
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
# What an upload-only key may do: upload (multipart included) and use the bucket's KMS key for it, through S3.
WRITE_ONLY_ACTIONS = {*documents.WRITE_ONLY_OBJECT_ACTIONS, *documents.KMS_WRITE_ACTIONS}

binding_parameters = st.fixed_dictionaries(
    {"permissions": st.sampled_from(["read-write", "read-only", "write-only", "admin"])},
    optional={
        "allow_external_access": st.booleans(),
        "path_prefix": st.one_of(
            st.from_regex(PLAN.binding_create_schema["properties"]["path_prefix"]["pattern"]),
            st.text(max_size=12),
        ),
        "external_buckets": st.lists(st.one_of(BUCKET, st.text(max_size=8)), max_size=3, unique=True),
        "expires_in_days": st.one_of(st.integers(min_value=1, max_value=3650), st.sampled_from([0, 3651, 1.5, "7"])),
    },
)


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return document["Statement"]


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def check_user_policy_invariants(
    document: dict[str, Any],
    *,
    buckets: list[str],
    external: list[str],
    kms_keys: list[str],
    read_only: bool,
    write_only: bool,
    path_prefix: str | None,
    partition: str,
    s3_service: str,
    expires_at: str | None,
) -> None:
    own_resources = {f"arn:{partition}:s3:::{b}" for b in buckets} | {
        f"arn:{partition}:s3:::{b}/{path_prefix or ''}*" for b in buckets
    }
    external_resources = {f"arn:{partition}:s3:::{b}" for b in external} | {
        f"arn:{partition}:s3:::{b}/{path_prefix or ''}*" for b in external
    }
    for statement in statements(document):
        actions, resources = as_list(statement["Action"]), as_list(statement["Resource"])
        condition = dict(statement.get("Condition", {}))
        if statement["Effect"] == "Deny":
            continue  # a Deny only ever narrows
        assert actions, "no statement without actions"
        assert "*" not in resources and not any(a in ("*", "s3:*", "kms:*") for a in actions)
        # A key that expires: every Allow holds only until then, so after it AWS grants the key nothing.
        until = condition.pop("DateLessThan", None)
        assert until == ({"aws:CurrentTime": expires_at} if expires_at else None)
        if read_only:
            assert all(action.startswith(READ_ACTION_VERBS) for action in actions), actions
        if write_only:
            assert set(actions) <= WRITE_ONLY_ACTIONS, actions
            assert not any(a.startswith(("s3:Get", "s3:Delete")) or a.startswith("s3:ListBucket") for a in actions)
        if any(action.startswith("kms:") for action in actions):
            assert set(resources) <= set(kms_keys)
            assert condition == {"StringEquals": {"kms:ViaService": [s3_service]}}
            continue
        # S3 bucket names are global: a name is reached only in the account it is meant for, so a bucket
        # made under a deleted one's name in another account (bucket sniping) is out of reach.
        if set(resources) <= own_resources:
            assert condition.pop("StringEquals") == {"s3:ResourceAccount": [OWN_ACCOUNT]}
        else:
            # Anything beyond the instance's own buckets is a bucket of the allowed accounts, never this one's.
            assert set(resources) <= external_resources, resources
            assert condition.pop("StringEquals") == {"s3:ResourceAccount": sorted(EXTERNAL_ACCOUNTS)}
            assert OWN_ACCOUNT not in EXTERNAL_ACCOUNTS
        assert set(condition) <= {"StringLike"}, condition
        if "s3:prefix" in str(condition):
            assert set(actions) <= set(documents.PREFIX_LISTING_ACTIONS)
            assert condition["StringLike"] == {"s3:prefix": [f"{path_prefix}*"]}
        if path_prefix:
            assert not set(actions) & set(documents.WHOLE_BUCKET_ACTIONS)
            listing = set(actions) & set(documents.PREFIX_LISTING_ACTIONS)
            assert not listing or "s3:prefix" in str(condition), "a prefix key lists only under its prefix"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parameters=binding_parameters,
    additional=st.lists(st.uuids().map(str), max_size=3, unique=True),
    kms_keys=st.lists(KMS_KEY, max_size=2, unique=True),
    cidrs=st.sampled_from([(), ("10.0.0.0/8",), ("10.0.0.0/8", "192.0.2.0/24")]),
    vpc_endpoints=VPC_ENDPOINTS,
    region=REGIONS,
)
def test_user_policies_over_the_parameter_space(
    parameters: dict[str, Any],
    additional: list[str],
    kms_keys: list[str],
    cidrs: tuple[str, ...],
    vpc_endpoints: tuple[str, ...],
    region: str,
) -> None:
    try:
        config = binding_config(PLAN, parameters)
    except InvalidParameters:
        event("parameters refused")
        return  # refused before any policy is made
    expires = bool(config.expires_in_days)
    event(f"policy made ({config.permissions}, prefix: {bool(config.path_prefix)}, expires: {expires})")
    settings_ = Settings(broker_username="u", broker_password="p", aws_region=region)
    buckets = [settings_.bucket_name(guid) for guid in ["0" * 8 + "-0000-0000-0000-" + "0" * 12, *additional]]
    external = list(config.external_buckets)
    expires_at = Expiry.after(NOW, config.expires_in_days).iam_time if config.expires_in_days else None
    restricted = not config.allow_external_access and bool(cidrs or vpc_endpoints)
    document = documents.user_policy(
        buckets,
        read_only=config.read_only,
        write_only=config.write_only,
        path_prefix=config.path_prefix,
        external_buckets=external,
        external_accounts=EXTERNAL_ACCOUNTS if external else (),
        own_account=OWN_ACCOUNT,
        kms_key_arns=kms_keys,
        s3_service=settings_.s3_service_name,
        allowed_source_cidrs=() if config.allow_external_access else cidrs,
        allowed_vpc_endpoints=() if config.allow_external_access else vpc_endpoints,
        expires_at=expires_at,
        partition=settings_.partition,
    )
    check_user_policy_invariants(
        document,
        buckets=buckets,
        external=external,
        kms_keys=kms_keys,
        read_only=config.read_only,
        write_only=config.write_only,
        path_prefix=config.path_prefix,
        partition=settings_.partition,
        s3_service=settings_.s3_service_name,
        expires_at=expires_at,
    )
    if settings_.partition == "aws":  # parliament knows the commercial partition's ARNs
        assert serious_findings(document) == []
    denies = [s for s in statements(document) if s["Effect"] == "Deny"]
    assert len(denies) == restricted
    if restricted:
        (deny,) = denies
        assert deny["Action"] == ["s3:*"] and "DateLessThan" not in deny["Condition"]
        check_platform_deny(deny["Condition"], cidrs, vpc_endpoints)


def check_platform_deny(condition: dict[str, Any], cidrs: tuple[str, ...], vpc_endpoints: tuple[str, ...]) -> None:
    """Deny outside the platform: by address, and when endpoints are listed, unless through one of them."""
    if not vpc_endpoints:
        assert condition == {"NotIpAddress": {"aws:SourceIp": list(cidrs)}}
        return
    # Through a VPC endpoint a request has no aws:SourceIp: the address test must not deny it on its own.
    assert condition.pop("StringNotEqualsIfExists") == {"aws:SourceVpce": list(vpc_endpoints)}
    assert condition == ({"NotIpAddressIfExists": {"aws:SourceIp": list(cidrs)}} if cidrs else {})


@settings(max_examples=60, deadline=None)
@given(
    bucket=BUCKET,
    permissions=st.sampled_from(["read-write", "read-only", "write-only"]),
    path_prefix=st.one_of(st.none(), st.sampled_from(["img/", "a", "logs/2026/"])),
)
def test_external_bucket_policies_name_only_the_binding_user(
    bucket: str, permissions: str, path_prefix: str | None
) -> None:
    user = "arn:aws:iam::111122223333:user/cf-s3-broker/i/cf-s3-b"
    read_only, write_only = permissions == "read-only", permissions == "write-only"
    document = documents.external_bucket_policy(
        bucket, user, read_only=read_only, write_only=write_only, path_prefix=path_prefix
    )
    assert serious_findings(document, resource_policy=True) == []
    for statement in statements(document):
        assert statement["Principal"] == {"AWS": user}
        assert not set(statement["Action"]) & {"s3:PutBucketCORS", "s3:PutBucketPolicy"}
        if read_only:
            assert all(action.startswith(READ_ACTION_VERBS) for action in statement["Action"])
        if write_only:
            assert set(statement["Action"]) <= WRITE_ONLY_ACTIONS


def test_public_read_policy_is_sound() -> None:
    assert serious_findings(documents.public_read_policy("cf-s3-x"), resource_policy=True) == []


@pytest.mark.parametrize("region", ["eu-west-2", "us-east-1"])
@pytest.mark.parametrize("prefixes", [("cf-s3-", "cf-s3-", "/cf-s3-broker/"), ("team-a-", "ta-", "/team-a/")])
def test_broker_policy_and_boundary_with_settings_filled_in(region: str, prefixes: tuple[str, str, str]) -> None:
    bucket_prefix, user_prefix, user_path = prefixes
    settings_ = Settings(
        broker_username="u",
        broker_password="p",
        aws_region=region,
        bucket_prefix=bucket_prefix,
        iam_user_prefix=user_prefix,
        iam_user_path=user_path,
    )
    facts = account_policies.facts_for(settings_, OWN_ACCOUNT)
    broker, boundary = account_policies.broker_policy(facts), account_policies.boundary_policy(facts)
    # Only IAM's own policy variable is left, for the broker's user reading itself in the preflight.
    assert set(re.findall(r"\$\{[^}]*\}", str(broker) + str(boundary))) <= {"${aws:username}"}
    # The broker must set public buckets' bucket policies, which parliament calls a possible escalation
    # on its own buckets: a broker key reaches those buckets anyway. Nothing else may be found.
    findings = [f for f in serious_findings(broker) if not f.startswith("RESOURCE_POLICY_PRIVILEGE_ESCALATION")]
    assert findings == []
    assert all(f"arn:aws:s3:::{bucket_prefix}*" in f for f in serious_findings(broker))
    assert serious_findings(boundary) == []
    check_broker_policy_cannot_make_an_admin(broker, facts)
    check_boundary_allows_only_s3_and_kms_via_s3(boundary, facts)


def check_broker_policy_cannot_make_an_admin(document: dict[str, Any], facts: account_policies.AccountFacts) -> None:
    boundary_condition = {"StringEquals": {"iam:PermissionsBoundary": facts.permissions_boundary_arn}}
    allowed: set[str] = set()
    for statement in statements(document):
        actions = as_list(statement["Action"])
        if statement["Effect"] == "Deny":
            assert "iam:DeleteUserPermissionsBoundary" in actions
            assert "Condition" not in statement
            continue
        allowed |= set(actions)
        # Setting a boundary is allowed for the shipped one only (upgrades give it to users of earlier releases).
        if {"iam:CreateUser", "iam:PutUserPolicy", "iam:PutUserPermissionsBoundary"} & set(actions):
            assert statement["Condition"] == boundary_condition
        for resource in as_list(statement["Resource"]):
            if resource.endswith("/${aws:username}"):  # the preflight: the broker's own user, read only
                reads = {"iam:ListUserPolicies", "iam:GetUserPolicy", "iam:ListAttachedUserPolicies"}
                assert set(actions) <= reads | {"iam:SimulatePrincipalPolicy"}
            elif resource == facts.permissions_boundary_arn:  # the preflight reads the boundary
                assert set(actions) == {"iam:GetPolicy", "iam:GetPolicyVersion"}
            elif any(a.startswith("iam:") for a in actions) and actions not in (
                ["iam:ListUsers"],  # the two reads AWS grants only on "*"
                ["iam:GetAccountSummary"],
            ):
                assert resource.startswith(f"arn:aws:iam::{OWN_ACCOUNT}:user{facts.iam_user_path}")
            elif resource != "*":
                assert resource.startswith(f"arn:aws:s3:::{facts.bucket_prefix}")
    forbidden = {
        "iam:DeleteUserPermissionsBoundary",
        "iam:AttachUserPolicy",
        "iam:CreatePolicy",
        "iam:CreatePolicyVersion",
        "iam:AddUserToGroup",
        "iam:CreateRole",
        "iam:PassRole",
        "sts:AssumeRole",
    }
    assert not allowed & forbidden
    assert not any(action.endswith("*") for action in allowed)


def check_boundary_allows_only_s3_and_kms_via_s3(
    document: dict[str, Any], facts: account_policies.AccountFacts
) -> None:
    for statement in statements(document):
        assert statement["Effect"] == "Allow"
        actions, resources = as_list(statement["Action"]), as_list(statement["Resource"])
        assert all(a.startswith(("s3:", "kms:")) for a in actions) and not any(a.endswith("*") for a in actions)
        condition = statement.get("Condition")
        if all(a.startswith("kms:") for a in actions):
            assert condition == {"StringEquals": {"kms:ViaService": facts.s3_service}}
        elif all(r.startswith(f"arn:aws:s3:::{facts.bucket_prefix}") for r in resources):
            # The broker's buckets in its own account only: not a bucket of that name in another account.
            assert condition == {"StringEquals": {"s3:ResourceAccount": OWN_ACCOUNT}}
        else:
            # Other accounts' buckets only in the accounts the operator allows, and only when there are some.
            assert facts.external_account_ids and OWN_ACCOUNT not in facts.external_account_ids
            assert condition == {"StringEquals": {"s3:ResourceAccount": list(facts.external_account_ids)}}


REFERER = st.from_regex(PLAN.instance_create_schema["properties"]["public_read_referers"]["items"]["pattern"])


@settings(max_examples=80, deadline=None)
@given(
    bucket=BUCKET,
    public=st.booleans(),
    tls_only=st.booleans(),
    website=st.booleans(),
    referers=st.lists(REFERER, max_size=3, unique=True),
    region=REGIONS,
)
def test_bucket_policies_over_the_parameter_space(
    bucket: str, public: bool, tls_only: bool, website: bool, referers: list[str], region: str
) -> None:
    partition = Settings(broker_username="u", broker_password="p", aws_region=region).partition
    document = documents.bucket_policy(
        bucket, public=public, tls_only=tls_only, referers=referers, website=website, partition=partition
    )
    if not public and not tls_only:
        assert document is None
        return
    assert document is not None
    if partition == "aws":
        assert serious_findings(document, resource_policy=True) == []
    bucket_resource, objects = f"arn:{partition}:s3:::{bucket}", f"arn:{partition}:s3:::{bucket}/*"
    without_tls = {"Bool": {"aws:SecureTransport": "false"}}
    denied_without_tls: set[str] = set()
    for statement in statements(document):
        assert set(as_list(statement["Resource"])) <= {bucket_resource, objects}
        if statement["Effect"] == "Deny":
            assert tls_only and statement["Principal"] == "*"
            if statement["Condition"] == without_tls:  # whoever asks
                assert statement["Resource"] == [bucket_resource, objects]
                # Only a public website's visitors (anonymous reads) are left to the next statement.
                assert statement.get("NotAction", ["s3:GetObject"]) == ["s3:GetObject"]
                assert statement.get("Action", "s3:*") == "s3:*"
                denied_without_tls.add("NotAction" if "NotAction" in statement else "all")
            else:  # signed reads only: a request with aws:PrincipalArn is not anonymous
                assert statement["Condition"] == {**without_tls, "Null": {"aws:PrincipalArn": "false"}}
                assert statement["Action"] == ["s3:GetObject"] and statement["Resource"] == [objects]
                denied_without_tls.add("signed reads")
            continue
        # The only Allow is public reads of objects: never listing, writing or the bucket itself.
        assert public and statement["Principal"] == "*"
        assert statement["Action"] == ["s3:GetObject"] and statement["Resource"] == [objects]
        assert statement.get("Condition") == ({"StringLike": {"aws:Referer": referers}} if referers else None)
    if tls_only:
        assert denied_without_tls == ({"NotAction", "signed reads"} if public and website else {"all"})


def test_account_facts_default_the_boundary_to_the_partition_and_account() -> None:
    settings_ = Settings(broker_username="u", broker_password="p", aws_region="cn-north-1", iam_user_prefix="ta-")
    facts = account_policies.facts_for(settings_, OWN_ACCOUNT)
    assert facts.permissions_boundary_arn == f"arn:aws-cn:iam::{OWN_ACCOUNT}:policy/s3-broker-binding-boundary"
    assert facts.iam_user_prefix == "ta-"
    users = f"arn:aws-cn:iam::{OWN_ACCOUNT}:user/cf-s3-broker/*/ta-*"
    # Users of releases before per-instance paths, which upgrades move under their instance.
    earlier_users = f"arn:aws-cn:iam::{OWN_ACCOUNT}:user/cf-s3-broker/ta-*"
    broker = account_policies.broker_policy(facts)
    own = f"arn:aws-cn:iam::{OWN_ACCOUNT}:user"  # the preflight's statements: the boundary and the broker's own user
    assert {r for s in statements(broker) for r in as_list(s["Resource"]) if ":iam::" in r} == {
        users,
        earlier_users,
        facts.permissions_boundary_arn,
        f"{own}/${{aws:username}}",
        f"{own}/*/${{aws:username}}",
    }
    given = "arn:aws-cn:iam::111122223333:policy/own-boundary"
    chosen = Settings(
        broker_username="u", broker_password="p", aws_region="cn-north-1", iam_permissions_boundary_arn=given
    )
    assert account_policies.facts_for(chosen, OWN_ACCOUNT).permissions_boundary_arn == given


UNBIND_AND_DEPROVISION_ACTIONS = (
    "iam:GetUser",
    "iam:ListAccessKeys",
    "iam:DeleteAccessKey",
    "iam:ListUserPolicies",
    "iam:DeleteUserPolicy",
    "iam:ListAttachedUserPolicies",
    "iam:DetachUserPolicy",
    "iam:DeleteUser",
)


def unconditionally_allowed(document: dict[str, Any], action: str, resource: str) -> bool:
    """Whether an Allow without conditions covers this action on this resource (ARN wildcards: * and ?)."""
    return any(
        statement["Effect"] == "Allow"
        and "Condition" not in statement
        and any(fnmatch.fnmatchcase(action, a) for a in as_list(statement["Action"]))
        and any(fnmatch.fnmatchcase(resource, r) for r in as_list(statement["Resource"]))
        for statement in statements(document)
    )


@pytest.mark.parametrize("user_path", ["/cf-s3-broker/", "/"])
def test_users_of_the_previous_release_can_be_unbound_but_not_remade(user_path: str) -> None:
    # Earlier releases made binding users at IAM_USER_PATH itself, not under a path per instance.
    settings_ = Settings(broker_username="u", broker_password="p", iam_user_path=user_path)
    broker = account_policies.broker_policy(account_policies.facts_for(settings_, OWN_ACCOUNT))
    guid = "6f1c2a8e-0b7d-4c1e-9a3f-2d5e8b7c4a10"
    old = f"arn:aws:iam::{OWN_ACCOUNT}:user{user_path}cf-s3-{guid}"
    new = f"arn:aws:iam::{OWN_ACCOUNT}:user{user_path}{guid}/cf-s3-{guid}"
    for action in UNBIND_AND_DEPROVISION_ACTIONS:
        assert unconditionally_allowed(broker, action, old), action
        assert unconditionally_allowed(broker, action, new), action
    for action in ("iam:CreateUser", "iam:PutUserPolicy", "iam:CreateAccessKey", "iam:TagUser"):
        assert not unconditionally_allowed(broker, action, old), action
    # Nor a user of the account that is not a binding user.
    assert not unconditionally_allowed(broker, "iam:DeleteUser", f"arn:aws:iam::{OWN_ACCOUNT}:user/admin")
    if user_path != "/":
        assert not unconditionally_allowed(broker, "iam:DeleteUser", f"arn:aws:iam::{OWN_ACCOUNT}:user/other/cf-s3-x")


@pytest.mark.parametrize("account", ["*", "11112222333", "1111222233334", "11112222333?"])
def test_account_facts_take_only_a_twelve_digit_account(account: str) -> None:
    with pytest.raises(ValueError, match="12 digits"):
        account_policies.facts_for(Settings(broker_username="u", broker_password="p"), account)


@pytest.mark.parametrize(
    "allowed", ["", "444455556666", "444455556666:8d3c5a1e-6b2f-4c7d-9e0a-1f2b3c4d5e6f,210987654321"]
)
def test_the_boundary_lets_binding_users_reach_only_the_accounts_the_operator_allows(allowed: str) -> None:
    settings_ = from_env({"BROKER_USERNAME": "u", "BROKER_PASSWORD": "p", "ALLOWED_EXTERNAL_ACCOUNT_IDS": allowed})
    facts = account_policies.facts_for(settings_, OWN_ACCOUNT)
    boundary = account_policies.boundary_policy(facts)
    assert serious_findings(boundary) == []
    check_boundary_allows_only_s3_and_kms_via_s3(boundary, facts)
    outside = [s for s in statements(boundary) if s["Sid"].startswith("OtherAccounts")]
    accounts = sorted(part.split(":")[0] for part in allowed.split(",") if part)
    assert len(outside) == (2 if accounts else 0)
    assert all(s["Condition"]["StringEquals"]["s3:ResourceAccount"] == accounts for s in outside)


def test_an_account_list_fills_only_a_whole_json_string() -> None:
    facts = account_policies.facts_for(Settings(broker_username="u", broker_password="p"), OWN_ACCOUNT)
    assert account_policies.fill('{"a": "${EXTERNAL_ACCOUNT_IDS}", "b": "x${ACCOUNT_ID}"}', facts) == {
        "a": [],
        "b": f"x{OWN_ACCOUNT}",
    }
    with pytest.raises(ValueError, match="a whole JSON string"):
        account_policies.fill('{"a": "x${EXTERNAL_ACCOUNT_IDS}"}', facts)


def test_a_placeholder_without_a_value_is_an_error() -> None:
    facts = account_policies.facts_for(Settings(broker_username="u", broker_password="p"), OWN_ACCOUNT)
    with pytest.raises(KeyError, match=r"no value for placeholder \$\{NOPE\}"):
        account_policies.fill('{"a": "${NOPE}"}', facts)
