"""Cases from AWS's documented examples of policy evaluation; each names the page it comes from.

Pages (IAM User Guide unless noted), cited by the short names below:
EVAL        "Policy evaluation logic" https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
SINGLE      "Policy evaluation for requests within a single account"
            https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
DENYALLOW   "Determining whether a request is allowed or denied within an account" (How AWS enforcement code logic
            evaluates requests) https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
CROSS       "Cross-account policy evaluation logic"
            https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
BOUNDARIES  "Permissions boundaries for IAM entities"
            https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
OPERATORS   "IAM JSON policy elements: Condition operators"
            https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
MULTI       "Conditions with multiple context keys or values"
            https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
SETS        "Single-valued vs. multivalued context keys"
            https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
GLOBAL      "AWS global condition context keys"
            https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
RESOURCE    "IAM JSON policy elements: Resource"
            https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
ACTION      "IAM JSON policy elements: Action"
            https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
NOTACTION   "IAM JSON policy elements: NotAction"
            https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
NOTRESOURCE "IAM JSON policy elements: NotResource"
            https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html
PRINCIPAL   "AWS JSON policy elements: Principal"
            https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
PUBLIC      S3 User Guide, "Blocking public access to your Amazon S3 storage", section "The meaning of 'public'"
            https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html
S3EXAMPLES  S3 User Guide, "Examples of Amazon S3 bucket policies"
            https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html
S3KEYS      S3 User Guide, "Bucket policy examples using condition keys"
            https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html
KMSVIA      KMS Developer Guide, "kms:ViaService"
            https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from broker.local.policy_evaluation import (
    DEFAULT_KEYS,
    Decision,
    Keys,
    PolicyError,
    Request,
    evaluate,
    glob,
    is_public,
)
from broker.policy import account_policies, documents
from broker.policy.account_policies import AccountFacts

ACCOUNT, OTHER = "123456789012", "111122223333"
CARLOS = f"arn:aws:iam::{ACCOUNT}:user/carlossalazar"
ALLOW, EXPLICIT, IMPLICIT = Decision.ALLOW, Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any = "s3:*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any = "s3:*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def user_request(
    action: str = "s3:GetObject", resource: str = "arn:aws:s3:::b/k", *, owner: str = ACCOUNT, **context: Any
) -> Request:
    return Request(action, resource, CARLOS, ACCOUNT, owner, {k.replace("__", ":"): v for k, v in context.items()})


def holds(condition: dict[str, Any], **context: Any) -> bool:
    """Whether an identity policy with only this Condition allows a request with this context."""
    return bool(evaluate(user_request(**context), [policy(allow(Condition=condition))]))


# --- SINGLE: the carlossalazar example ------------------------------------------------------------------------

CARLOS_POLICY = policy(
    {
        "Sid": "AllowS3ListRead",
        "Effect": "Allow",
        "Resource": "arn:aws:s3:::*",
        "Action": [
            "s3:GetBucketLocation",
            "s3:GetAccountPublicAccessBlock",
            "s3:ListAccessPoints",
            "s3:ListAllMyBuckets",
        ],
    },
    {
        "Sid": "AllowS3Self",
        "Effect": "Allow",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"],
    },
    {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*log*"},
)
CARLOS_BUCKET = policy(
    {
        "Effect": "Allow",
        "Principal": {"AWS": CARLOS},
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"],
    }
)


def test_carlos_denied_on_logs_bucket_by_identity_deny():
    """SINGLE, example identity-based and resource-based policy evaluation: DenyS3Logs wins."""
    result = evaluate(user_request("s3:PutObject", "arn:aws:s3:::carlossalazar-logs/f"), [CARLOS_POLICY])
    assert result.decision is EXPLICIT and "DenyS3Logs" in result.reason


def test_carlos_allowed_on_own_bucket_by_both():
    """SINGLE: both the identity policy and the bucket policy allow the PutObject to carlossalazar."""
    request = user_request("s3:PutObject", "arn:aws:s3:::carlossalazar/f")
    assert evaluate(request, [CARLOS_POLICY], resource_policy=CARLOS_BUCKET).decision is ALLOW


def test_same_account_bucket_policy_alone_grants_the_user():
    """SINGLE, Important: if either the identity-based or the resource-based policy allows, the request is allowed."""
    request = user_request("s3:PutObject", "arn:aws:s3:::carlossalazar/f")
    result = evaluate(request, [], resource_policy=CARLOS_BUCKET)
    assert result.decision is ALLOW and "resource policy" in result.reason


def test_explicit_deny_in_bucket_policy_beats_identity_allow():
    """EVAL / DENYALLOW: an explicit deny in any policy overrides any allows."""
    bucket = policy(
        {
            "Sid": "NoCarlos",
            "Effect": "Deny",
            "Principal": {"AWS": CARLOS},
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::carlossalazar/*",
        }
    )
    result = evaluate(
        user_request("s3:GetObject", "arn:aws:s3:::carlossalazar/f"), [CARLOS_POLICY], resource_policy=bucket
    )
    assert result.decision is EXPLICIT and "NoCarlos" in result.reason


def test_no_policy_is_implicit_deny():
    """EVAL, The difference between explicit and implicit denies: no Allow and no Deny is an implicit deny."""
    assert evaluate(user_request(), []).decision is IMPLICIT


def test_allow_get_list_deny_reports():
    """EVAL, explicit vs implicit denies: iam:Get*/List* allowed, iam:*Report explicitly denied, others implicit."""
    doc = policy(
        {"Sid": "AllowGetList", "Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
        {"Sid": "DenyReports", "Effect": "Deny", "Action": "iam:*Report", "Resource": "*"},
    )
    arn = f"arn:aws:iam::{ACCOUNT}:user/x"
    assert evaluate(user_request("iam:GetUser", arn), [doc]).decision is ALLOW
    assert evaluate(user_request("iam:GetOrganizationsAccessReport", arn), [doc]).decision is EXPLICIT
    assert evaluate(user_request("iam:CreatePolicy", arn), [doc]).decision is IMPLICIT


# --- BOUNDARIES ----------------------------------------------------------------------------------------------

SHIRLEY_BOUNDARY = policy(allow(["s3:*", "cloudwatch:*", "ec2:*"]))


def test_boundary_limits_identity_allow():
    """BOUNDARIES: Shirley's boundary allows s3/cloudwatch/ec2; her policy allows iam:CreateUser; the call fails."""
    request = user_request("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/new")
    result = evaluate(request, [policy(allow("iam:CreateUser"))], SHIRLEY_BOUNDARY)
    assert result.decision is IMPLICIT and "boundary" in result.reason


def test_boundary_intersection_allows():
    """BOUNDARIES, identity-based policies with boundaries: the effective permissions are the intersection."""
    result = evaluate(user_request("s3:GetObject"), [policy(allow("s3:GetObject"))], SHIRLEY_BOUNDARY)
    assert result.decision is ALLOW and "permissions boundary" in result.reason


def test_boundary_alone_grants_nothing():
    """BOUNDARIES: a permissions boundary limits the user's permissions but does not provide permissions."""
    assert evaluate(user_request(), [], SHIRLEY_BOUNDARY).decision is IMPLICIT


def test_boundary_deny_is_explicit():
    """BOUNDARIES, XCompanyBoundaries DenyS3Logs: an explicit deny in either policy overrides the allow."""
    boundary = policy(allow(), {"Sid": "DenyS3Logs", **deny("s3:*", ["arn:aws:s3:::logs", "arn:aws:s3:::logs/*"])})
    result = evaluate(user_request("s3:GetObject", "arn:aws:s3:::logs/a"), [policy(allow())], boundary)
    assert result.decision is EXPLICIT and "DenyS3Logs" in result.reason


def test_resource_policy_naming_user_arn_not_limited_by_boundary():
    """DENYALLOW, IAM user: same-account resource-based policies that grant permissions to an IAM user ARN are not
    limited by an implicit deny in an identity-based policy or permissions boundary."""
    bucket = policy(
        {
            "Sid": "Carlos",
            "Effect": "Allow",
            "Principal": {"AWS": CARLOS},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/*",
        }
    )
    boundary = policy(allow("cloudwatch:*"))
    assert evaluate(user_request(), [], boundary, bucket).decision is ALLOW


def test_resource_policy_naming_account_still_needs_identity_within_boundary():
    """DENYALLOW: only a grant directly to the user bypasses implicit denies; a grant to the account is delegated
    to the account's identity policies (PRINCIPAL, AWS account principals), which the boundary limits."""
    bucket = policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "s3:*", "Resource": "*"}
    )
    assert evaluate(user_request(), [], None, bucket).decision is IMPLICIT
    limited = evaluate(user_request(), [policy(allow())], policy(allow("ec2:*")), bucket)
    assert limited.decision is IMPLICIT
    assert evaluate(user_request(), [policy(allow())], SHIRLEY_BOUNDARY, bucket).decision is ALLOW


# --- CROSS ---------------------------------------------------------------------------------------------------

EXTERNAL = "arn:aws:s3:::external-bucket/k"


def test_cross_account_needs_both_sides():
    """CROSS: the identity policy in the trusted account and the resource policy in the trusting account must both
    allow; either alone is an implicit deny."""
    identity = policy(allow("s3:GetObject", "arn:aws:s3:::external-bucket/*"))
    bucket = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": ACCOUNT},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::external-bucket/*",
        }
    )
    request = user_request("s3:GetObject", EXTERNAL, owner=OTHER)
    assert evaluate(request, [identity], resource_policy=bucket).decision is ALLOW
    assert evaluate(request, [identity]).decision is IMPLICIT
    assert evaluate(request, [], resource_policy=bucket).decision is IMPLICIT


def test_cross_account_user_arn_grant_still_needs_identity():
    """CROSS: naming the user ARN in another account's policy is not enough without the user's own allow."""
    bucket = policy({"Effect": "Allow", "Principal": {"AWS": CARLOS}, "Action": "s3:*", "Resource": "*"})
    request = user_request("s3:GetObject", EXTERNAL, owner=OTHER)
    assert evaluate(request, [], resource_policy=bucket).decision is IMPLICIT


def test_cross_account_boundary_applies():
    """CROSS with BOUNDARIES: the requesting account's boundary limits its identity allow."""
    bucket = policy({"Effect": "Allow", "Principal": {"AWS": CARLOS}, "Action": "s3:*", "Resource": "*"})
    request = user_request("s3:GetObject", EXTERNAL, owner=OTHER)
    assert evaluate(request, [policy(allow())], policy(allow("ec2:*")), bucket).decision is IMPLICIT


def test_resource_policy_for_other_principal_does_not_apply():
    """PRINCIPAL: a statement applies only to the principals it names."""
    bucket = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/someone"},
            "Action": "s3:*",
            "Resource": "*",
        }
    )
    assert evaluate(user_request(), [], resource_policy=bucket).decision is IMPLICIT


def test_not_principal_deny():
    """PRINCIPAL / NotPrincipal: Deny with NotPrincipal denies everyone except the principals listed."""
    bucket = policy(
        {
            "Effect": "Deny",
            "NotPrincipal": {"AWS": [f"arn:aws:iam::{ACCOUNT}:user/admin"]},
            "Action": "s3:*",
            "Resource": "*",
        }
    )
    assert evaluate(user_request(), [policy(allow())], resource_policy=bucket).decision is EXPLICIT


# --- Action, NotAction, Resource, NotResource ------------------------------------------------------------------


def test_actions_are_case_insensitive():
    """ACTION: action names are case-insensitive; wildcards match a prefix of the action name."""
    assert evaluate(user_request("S3:getobject"), [policy(allow("s3:Get*"))]).decision is ALLOW
    assert evaluate(user_request("s3:PutObject"), [policy(allow("s3:Get*"))]).decision is IMPLICIT
    assert evaluate(user_request("s3:GetObjectAcl"), [policy(allow("s3:GetObject???"))]).decision is ALLOW


def test_service_prefix_is_literal():
    """ACTION: the service prefix is part of the name; s3:* does not reach s3express or kms."""
    assert evaluate(user_request("kms:Decrypt"), [policy(allow("s3:*"))]).decision is IMPLICIT


def test_not_action_allow():
    """NOTACTION: Allow with NotAction iam:* allows everything except IAM actions."""
    doc = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert evaluate(user_request("s3:GetObject"), [doc]).decision is ALLOW
    assert evaluate(user_request("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/x"), [doc]).decision is IMPLICIT


def test_not_resource_deny():
    """NOTRESOURCE: Deny with NotResource denies every resource except those listed."""
    doc = policy(allow(), {"Effect": "Deny", "Action": "s3:*", "NotResource": ["arn:aws:s3:::ok", "arn:aws:s3:::ok/*"]})
    assert evaluate(user_request("s3:GetObject", "arn:aws:s3:::ok/k"), [doc]).decision is ALLOW
    assert evaluate(user_request("s3:GetObject", "arn:aws:s3:::other/k"), [doc]).decision is EXPLICIT


def test_resource_is_case_sensitive():
    """RESOURCE: resource ARNs are case sensitive."""
    doc = policy(allow("s3:*", "arn:aws:s3:::Bucket/*"))
    assert evaluate(user_request(resource="arn:aws:s3:::bucket/k"), [doc]).decision is IMPLICIT


def test_resource_wildcard_within_segment():
    """RESOURCE, Using wildcards in resource ARNs: a * inside a segment stays in it; one ending a segment may cross
    colon boundaries."""
    assert glob("arn:aws:iam::*:user/*", "arn:aws:iam::123:user/a:b", arn=True)
    assert not glob("arn:aws:logs:*-1:*", "arn:aws:logs:us:east-1:1", arn=True)
    assert glob("arn:aws:s3:::*log*", "arn:aws:s3:::my-logs/a", arn=True)


# --- OPERATORS and MULTI -------------------------------------------------------------------------------------


def test_string_equals_and_missing_key():
    """OPERATORS, Important: a key not in the request context makes a positive operator false."""
    condition = {"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}
    assert holds(condition, **{"aws:PrincipalTag/job-category": "iamuser-admin"})
    assert not holds(condition)


def test_negated_operator_with_missing_key_is_true():
    """OPERATORS, Important: if the condition requires the key not be matched (StringNotLike, ArnNotLike) and the
    key is not present, the condition is true."""
    assert holds({"StringNotLike": {"aws:Referer": "https://bad.example/*"}})
    assert holds({"ArnNotLike": {"aws:SourceArn": "arn:aws:sns:*:*:x"}})
    assert not holds({"StringNotLike": {"aws:Referer": "https://bad.example/*"}}, aws__Referer="https://bad.example/p")


def test_if_exists_makes_missing_key_true():
    """OPERATORS, ...IfExists: if the key is not present, the condition evaluates to true."""
    assert holds({"StringEqualsIfExists": {"aws:UserAgent": "curl"}})
    assert holds({"NotIpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}})
    assert not holds({"StringEqualsIfExists": {"aws:UserAgent": "curl"}}, aws__UserAgent="wget")
    assert not holds({"StringEquals": {"aws:UserAgent": "curl"}})


def test_null_checks_presence():
    """OPERATORS, Condition operator to check existence of condition keys (Null)."""
    assert holds({"Null": {"aws:TokenIssueTime": "true"}})
    assert not holds({"Null": {"aws:TokenIssueTime": "false"}})
    assert holds({"Null": {"aws:TokenIssueTime": "false"}}, aws__TokenIssueTime="2024-01-01T00:00:00Z")


def test_multiple_values_or_and_negated_nor():
    """MULTI: multiple values for a key are ORed; for a negated operator they are NORed."""
    assert holds({"StringEquals": {"aws:PrincipalTag/dept": ["a", "b"]}}, **{"aws:PrincipalTag/dept": "b"})
    assert not holds({"StringNotEquals": {"aws:PrincipalTag/dept": ["a", "b"]}}, **{"aws:PrincipalTag/dept": "b"})
    assert holds({"StringNotEquals": {"aws:PrincipalTag/dept": ["a", "b"]}}, **{"aws:PrincipalTag/dept": "c"})


def test_multiple_keys_and_operators_are_anded():
    """MULTI: multiple operators and multiple keys in a Condition are ANDed."""
    condition = {
        "StringEquals": {"aws:PrincipalTag/a": "1", "aws:PrincipalTag/b": "2"},
        "Bool": {"aws:SecureTransport": "true"},
    }
    both = {"aws:PrincipalTag/a": "1", "aws:PrincipalTag/b": "2"}
    assert holds(condition, **both, aws__SecureTransport="true")
    assert not holds(condition, **both, aws__SecureTransport="false")
    assert not holds(condition, **{"aws:PrincipalTag/a": "1"}, aws__SecureTransport="true")


def test_condition_keys_are_case_insensitive():
    """OPERATORS / GLOBAL: condition key names are case-insensitive; StringEquals values are case-sensitive."""
    assert holds({"StringEquals": {"AWS:referer": "x"}}, aws__Referer="x")
    assert not holds({"StringEquals": {"aws:Referer": "X"}}, aws__Referer="x")
    assert holds({"StringEqualsIgnoreCase": {"aws:Referer": "X"}}, aws__Referer="x")


def test_for_any_value_and_for_all_values():
    """SETS: ForAnyValue needs one request value to match; ForAllValues needs every request value to match."""
    assert holds({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}, aws__TagKeys=["b", "z"])
    assert not holds({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, aws__TagKeys=["b", "z"])
    assert holds({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, aws__TagKeys=["b", "a"])


def test_set_operators_with_empty_or_missing_sets():
    """SETS: ForAllValues returns true when the key is missing or its set is empty; ForAnyValue returns false."""
    assert holds({"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}})
    assert holds({"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}}, aws__TagKeys=[])
    assert not holds({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}})
    assert not holds({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}, aws__TagKeys=[])


def test_for_all_values_negated():
    """SETS: ForAllValues:StringNotEquals is true when no request value is any of the policy's values."""
    assert holds({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}}, aws__TagKeys=["a", "b"])
    assert not holds({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}}, aws__TagKeys=["a", "secret"])


def test_multivalued_key_without_set_operator_raises():
    """SETS: multivalued keys are tested with ForAnyValue or ForAllValues; anything else is refused, not guessed."""
    with pytest.raises(PolicyError, match="multivalued"):
        holds({"StringEquals": {"aws:TagKeys": "a"}}, aws__TagKeys=["a"])


def test_ip_address_and_not_ip_address_with_cidr_lists():
    """OPERATORS, IP address condition operators / S3EXAMPLES, Managing access based on specific IP addresses."""
    cidrs = ["192.0.2.0/24", "2001:DB8:1234:5678::/64"]
    assert holds({"IpAddress": {"aws:SourceIp": cidrs}}, aws__SourceIp="192.0.2.7")
    assert not holds({"NotIpAddress": {"aws:SourceIp": cidrs}}, aws__SourceIp="192.0.2.7")
    assert not holds({"NotIpAddress": {"aws:SourceIp": cidrs}}, aws__SourceIp="2001:db8:1234:5678::1")
    assert holds({"NotIpAddress": {"aws:SourceIp": cidrs}}, aws__SourceIp="203.0.113.9")
    assert holds({"NotIpAddress": {"aws:SourceIp": cidrs}})  # absent key: a negated operator is true
    assert holds({"IpAddress": {"aws:SourceIp": "203.0.113.9"}}, aws__SourceIp="203.0.113.9")


def test_date_less_than_iso_and_epoch():
    """OPERATORS, Date condition operators: aws:CurrentTime against ISO 8601 values, aws:EpochTime in epoch; both
    forms are accepted on either side."""
    condition = {"DateLessThan": {"aws:CurrentTime": "2024-06-30T00:00:00Z"}}
    assert holds(condition, aws__CurrentTime="2024-06-29T23:59:59Z")
    assert not holds(condition, aws__CurrentTime="2024-06-30T00:00:00Z")
    assert holds({"DateLessThan": {"aws:CurrentTime": "1719705600"}}, aws__CurrentTime="2024-06-29T23:59:59Z")
    assert holds({"DateGreaterThan": {"aws:EpochTime": "2020-01-01T00:00:00Z"}}, aws__EpochTime="1719705600")
    assert holds({"DateLessThanEquals": {"aws:CurrentTime": "2024-06-30"}}, aws__CurrentTime="2024-06-30T00:00:00Z")


def test_numeric_operators():
    """OPERATORS, Numeric condition operators / S3KEYS, s3:max-keys."""
    assert holds({"NumericLessThanEquals": {"s3:max-keys": "10"}}, **{"s3:max-keys": "10"})
    assert not holds({"NumericLessThan": {"s3:max-keys": "10"}}, **{"s3:max-keys": "11"})
    assert holds({"NumericNotEquals": {"s3:max-keys": ["1", "2"]}}, **{"s3:max-keys": "3"})


def test_bool_secure_transport_false_deny():
    """S3EXAMPLES, Managing access based on HTTP or HTTPS requests: Deny when aws:SecureTransport is false."""
    bucket = policy(
        {
            "Sid": "RestrictToTLSRequestsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    identity = [policy(allow())]
    assert evaluate(user_request(aws__SecureTransport="false"), identity, None, bucket).decision is EXPLICIT
    assert evaluate(user_request(aws__SecureTransport="true"), identity, None, bucket).decision is ALLOW
    assert holds({"Bool": {"aws:SecureTransport": False}}, aws__SecureTransport="false")  # JSON false too


def test_string_like_referer_for_anonymous():
    """S3EXAMPLES, Restricting access to a specific HTTP referer (anonymous GetObject only from matching pages)."""
    bucket = policy(
        {
            "Sid": "AllowGetRequestsReferred",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/*",
            "Condition": {"StringLike": {"aws:Referer": ["https://www.example.com/*", "https://example.com/*"]}},
        }
    )
    good = Request("s3:GetObject", "arn:aws:s3:::b/k", context={"aws:Referer": "https://example.com/page"})
    bad = Request("s3:GetObject", "arn:aws:s3:::b/k", context={"aws:Referer": "https://evil.example/page"})
    assert evaluate(good, resource_policy=bucket).decision is ALLOW
    assert evaluate(bad, resource_policy=bucket).decision is IMPLICIT
    assert evaluate(Request("s3:GetObject", "arn:aws:s3:::b/k"), resource_policy=bucket).decision is IMPLICIT


def test_arn_like_compares_segments():
    """OPERATORS, ARN condition operators: each of the six colon-delimited components is checked separately."""
    assert holds(
        {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:topic*"}},
        aws__SourceArn="arn:aws:sns:us-east-1:123456789012:topic-a",
    )
    assert not holds(
        {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:topic*"}},
        aws__SourceArn="arn:aws:sns:us-east-1:999999999999:topic-a",
    )
    assert not holds({"ArnEquals": {"aws:SourceArn": "arn:aws:sns:*:*:t"}}, aws__SourceArn="not-an-arn")


def test_s3_prefix_listing():
    """S3KEYS, Limiting the listing to a prefix with s3:prefix (StringLike)."""
    doc = policy(allow("s3:ListBucket", "arn:aws:s3:::b", Condition={"StringLike": {"s3:prefix": ["home/carlos/*"]}}))
    assert evaluate(user_request("s3:ListBucket", "arn:aws:s3:::b", s3__prefix="home/carlos/x"), [doc])
    assert not evaluate(user_request("s3:ListBucket", "arn:aws:s3:::b", s3__prefix="home/other/"), [doc])
    assert not evaluate(user_request("s3:ListBucket", "arn:aws:s3:::b"), [doc])  # no prefix given: key absent


def test_s3_resource_account_is_filled_in():
    """GLOBAL, aws:ResourceAccount / S3KEYS, s3:ResourceAccount: the owning account of the resource."""
    doc = policy(allow("s3:GetObject", "*", Condition={"StringNotEquals": {"s3:ResourceAccount": ACCOUNT}}))
    assert not evaluate(user_request(), [doc])
    assert evaluate(
        user_request(owner=OTHER),
        [doc],
        resource_policy=policy(
            {"Effect": "Allow", "Principal": {"AWS": CARLOS}, "Action": "s3:GetObject", "Resource": "*"}
        ),
    )


def test_kms_via_service():
    """KMSVIA: kms:ViaService limits a key's use to requests made on the principal's behalf by the named service."""
    doc = policy(
        allow(
            ["kms:Decrypt"],
            "arn:aws:kms:*:*:key/*",
            Condition={"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
        )
    )
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1"
    assert evaluate(user_request("kms:Decrypt", key, kms__ViaService="s3.us-east-1.amazonaws.com"), [doc])
    assert not evaluate(user_request("kms:Decrypt", key), [doc])


def test_wildcard_matching_is_linear():
    """OPERATORS, StringLike: many wildcards must not take exponential time. A backtracking regex needs
    seconds for 30 wildcards against 32 characters and would never finish these; glob's work is
    len(pattern) * len(text), so the test ends at once or hangs, with no timing of its own."""
    pattern, value = "*a" * 300 + "b", "a" * 2000
    assert not glob(pattern, value)
    assert not holds({"StringLike": {"aws:Referer": pattern}}, aws__Referer=value)
    assert glob("*a" * 300 + "*", value)


# --- Unknown things raise ------------------------------------------------------------------------------------


def test_unknown_operator_raises():
    """OPERATORS: an operator this module does not know is refused, not taken as true or false."""
    with pytest.raises(PolicyError, match="operator"):
        holds({"StringMatchesRegex": {"aws:Referer": "x"}})
    with pytest.raises(PolicyError, match="operator"):
        holds({"NullIfExists": {"aws:Referer": "true"}})
    with pytest.raises(PolicyError, match="set operator"):
        holds({"ForEveryValue:StringEquals": {"aws:TagKeys": "x"}})


def test_unknown_key_raises_even_in_a_statement_that_does_not_apply():
    """GLOBAL: a key outside the allow-list is most likely a typo (aws:SourceIP is aws:SourceIp, keys ignore case;
    aws:SourceIpAddress is not a key)."""
    bad = policy(allow("kms:*", Condition={"IpAddress": {"aws:SourceIpAddress": "10.0.0.0/8"}}))
    with pytest.raises(PolicyError, match="unknown condition key"):
        evaluate(user_request(), [bad])
    ignoring_case = policy(allow(Condition={"IpAddress": {"AWS:SOURCEIP": "10.0.0.0/8"}}))
    assert evaluate(user_request(), [ignoring_case]).decision is IMPLICIT
    custom = Keys(DEFAULT_KEYS.single | {"aws:sourceipaddress"}, DEFAULT_KEYS.multi, DEFAULT_KEYS.prefixes)
    assert evaluate(user_request(), [bad], keys=custom).decision is IMPLICIT


def test_unknown_elements_raise():
    """EVAL, Errors: if the enforcement code encounters an error, it generates an exception."""
    for broken in (
        {"Version": "2012-10-17", "Statement": [{**allow(), "Effect": "allow"}]},
        {"Version": "2012-10-17", "Statement": [{"Action": "s3:*", "Resource": "*"}]},
        {"Version": "2012-10-17", "Statement": [{**allow(), "Principals": "*"}]},
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*"}]},
        {"Version": "2012-10-17", "Statement": [], "Extra": 1},
        {"Version": "2013-01-01", "Statement": []},
        policy(allow("s3:*", "arn:aws:s3:::${aws:nosuchkey}/*")),
        policy(allow("GetObject")),
    ):
        with pytest.raises(PolicyError):
            evaluate(user_request(), [broken])
    with pytest.raises(PolicyError, match="Principal"):
        evaluate(user_request(), [policy(allow(Principal="*"))])
    with pytest.raises(PolicyError, match="Principal"):
        evaluate(user_request(), resource_policy=policy(allow()))


def test_context_value_shape_is_checked():
    """SETS: a single-valued key takes one value; a list for it is refused."""
    with pytest.raises(PolicyError, match="one string"):
        evaluate(user_request(aws__SourceIp=["1.2.3.4"]), [policy(allow())])


# --- PUBLIC and Block Public Access ----------------------------------------------------------------------------

PUBLIC_READ = policy(
    {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
)


def test_is_public_meaning():
    """PUBLIC, The meaning of "public": a policy is non-public only if every grant to everyone is limited by a fixed
    value of aws:SourceIp (CIDRs), aws:SourceVpce, aws:SourceVpc, aws:SourceAccount, aws:SourceArn, ...; a Deny is
    never public; a Referer does not limit."""

    def limited(condition: dict[str, Any]) -> dict[str, Any]:
        return policy({**PUBLIC_READ["Statement"][0], "Condition": condition})

    assert is_public(PUBLIC_READ)
    assert is_public(limited({"StringLike": {"aws:Referer": "https://example.com/*"}}))
    assert not is_public(limited({"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}))
    assert is_public(limited({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}))
    assert not is_public(limited({"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}))
    assert is_public(limited({"StringLike": {"aws:SourceVpce": "vpce-*"}}))
    assert is_public(limited({"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d"}}))
    assert not is_public(limited({"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}))
    assert not is_public(policy({**PUBLIC_READ["Statement"][0], "Effect": "Deny"}))
    assert not is_public(policy({**PUBLIC_READ["Statement"][0], "Principal": {"AWS": CARLOS}}))
    assert not is_public(policy({**PUBLIC_READ["Statement"][0], "Action": "s3:ReplicateObject"}))
    assert not is_public(None)


def test_restrict_public_buckets_blocks_anonymous_and_cross_account():
    """PUBLIC, RestrictPublicBuckets: a bucket with a public policy is reachable only by principals of the owner's
    account; public and cross-account access through that policy is blocked."""
    anonymous = Request("s3:GetObject", "arn:aws:s3:::b/k")
    assert evaluate(anonymous, resource_policy=PUBLIC_READ).decision is ALLOW
    assert evaluate(anonymous, resource_policy=PUBLIC_READ, restrict_public_buckets=True).decision is IMPLICIT
    other = Request("s3:GetObject", "arn:aws:s3:::b/k", f"arn:aws:iam::{OTHER}:user/u", OTHER, ACCOUNT)
    assert evaluate(other, [policy(allow())], resource_policy=PUBLIC_READ).decision is ALLOW
    assert not evaluate(other, [policy(allow())], resource_policy=PUBLIC_READ, restrict_public_buckets=True)
    assert evaluate(user_request(), [], resource_policy=PUBLIC_READ, restrict_public_buckets=True)


def test_anonymous_needs_principal_star():
    """PRINCIPAL, Anonymous (public) principals: only "*" or {"AWS": "*"} reaches an anonymous caller."""
    anonymous = Request("s3:GetObject", "arn:aws:s3:::b/k")
    by_account = policy({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "s3:*", "Resource": "*"})
    assert evaluate(anonymous, resource_policy=by_account).decision is IMPLICIT
    star = policy({"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "s3:*", "Resource": "*"})
    assert evaluate(anonymous, resource_policy=star).decision is ALLOW
    with pytest.raises(PolicyError):
        evaluate(anonymous, [policy(allow())])


# --- The broker's own documents ------------------------------------------------------------------------------

FACTS = AccountFacts(
    partition="aws",
    account_id=ACCOUNT,
    bucket_prefix="cf-s3-",
    iam_user_path="/cf-s3-broker/",
    iam_user_prefix="cf-s3-",
    s3_service="s3.us-east-1.amazonaws.com",
    permissions_boundary_arn=f"arn:aws:iam::{ACCOUNT}:policy/s3-broker-binding-boundary",
    external_account_ids=(OTHER,),
)


def template(name: str) -> dict[str, Any]:
    """broker/policy/<name> filled in as the broker fills it."""
    return account_policies.fill((account_policies.TEMPLATES / name).read_text(), FACTS)


def test_unfilled_template_raises():
    """A ${PLACEHOLDER} left in is a policy variable to AWS; evaluating it as text would be wrong."""
    with pytest.raises(PolicyError, match="variables"):
        evaluate(user_request(), [json.loads(account_policies.BOUNDARY_POLICY.read_text())])


def test_boundary_and_broker_policy_parse_and_judge():
    """BOUNDARIES with the broker's boundary: a binding user's own bucket is inside it, another account's bucket
    only for object/listing actions, kms only via S3, IAM never; the broker policy's Deny wins."""
    boundary, broker = template("boundary-policy.json"), template("broker-policy.json")
    everything = [policy(allow("*"))]
    assert evaluate(user_request("s3:PutObject", "arn:aws:s3:::cf-s3-1/k"), everything, boundary)
    assert not evaluate(user_request("s3:PutBucketPolicy", "arn:aws:s3:::cf-s3-1"), everything, boundary)
    external = user_request("s3:GetObject", "arn:aws:s3:::theirs/k", owner=OTHER)
    theirs = policy({"Effect": "Allow", "Principal": {"AWS": CARLOS}, "Action": "s3:*", "Resource": "*"})
    assert evaluate(external, everything, boundary, theirs)
    assert not evaluate(user_request("s3:GetObject", "arn:aws:s3:::mine/k"), everything, boundary)
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1"
    assert evaluate(user_request("kms:Decrypt", key, kms__ViaService=FACTS.s3_service), everything, boundary)
    assert not evaluate(user_request("kms:Decrypt", key), everything, boundary)
    assert not evaluate(user_request("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/x"), everything, boundary)
    broker_request = user_request("iam:AttachUserPolicy", f"arn:aws:iam::{ACCOUNT}:user/cf-s3-broker/i/cf-s3-b")
    assert evaluate(broker_request, [broker, policy(allow("*"))]).decision is EXPLICIT
    create = user_request(
        "iam:CreateUser",
        f"arn:aws:iam::{ACCOUNT}:user/cf-s3-broker/i/cf-s3-b",
        iam__PermissionsBoundary=FACTS.permissions_boundary_arn,
    )
    assert evaluate(create, [broker])
    assert not evaluate(user_request("iam:CreateUser", create.resource), [broker])


def test_binding_user_policy_with_every_option():
    """OPERATORS (DateLessThan aws:CurrentTime, StringNotEqualsIfExists aws:SourceVpce, NotIpAddressIfExists
    aws:SourceIp, StringLike s3:prefix, kms:ViaService) on the broker's own user_policy()."""
    doc = documents.user_policy(
        ["cf-s3-1"],
        read_only=False,
        path_prefix="in/",
        external_buckets=["theirs"],
        external_accounts=[OTHER],
        own_account=ACCOUNT,
        kms_key_arns=[f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1"],
        s3_service=FACTS.s3_service,
        allowed_source_cidrs=["10.0.0.0/8"],
        allowed_vpc_endpoints=["vpce-1"],
        expires_at="2030-01-01T00:00:00Z",
    )
    now = {"aws__CurrentTime": "2029-12-31T00:00:00Z"}
    inside = user_request("s3:GetObject", "arn:aws:s3:::cf-s3-1/in/k", aws__SourceIp="10.1.2.3", **now)
    assert evaluate(inside, [doc])
    outside = user_request("s3:GetObject", "arn:aws:s3:::cf-s3-1/in/k", aws__SourceIp="203.0.113.1", **now)
    assert evaluate(outside, [doc]).decision is EXPLICIT
    via_endpoint = user_request("s3:GetObject", "arn:aws:s3:::cf-s3-1/in/k", aws__SourceVpce="vpce-1", **now)
    assert evaluate(via_endpoint, [doc])
    late = user_request(
        "s3:GetObject", "arn:aws:s3:::cf-s3-1/in/k", aws__SourceIp="10.1.2.3", aws__CurrentTime="2030-01-01T00:00:01Z"
    )
    assert evaluate(late, [doc]).decision is IMPLICIT
    listing = user_request("s3:ListBucket", "arn:aws:s3:::cf-s3-1", aws__SourceIp="10.1.2.3", s3__prefix="in/a", **now)
    assert evaluate(listing, [doc], template("boundary-policy.json"))


def test_bucket_policy_tls_and_referer():
    """S3EXAMPLES (TLS-only deny and referer-limited public reads) on the broker's own bucket_policy()."""
    doc = documents.bucket_policy("cf-s3-1", public=True, tls_only=True, referers=["https://site.example/*"])
    read = {"action": "s3:GetObject", "resource": "arn:aws:s3:::cf-s3-1/k"}
    ok = Request(**read, context={"aws:SecureTransport": "true", "aws:Referer": "https://site.example/p"})
    plain = Request(**read, context={"aws:SecureTransport": "false", "aws:Referer": "https://site.example/p"})
    assert evaluate(ok, resource_policy=doc).decision is ALLOW
    assert evaluate(plain, resource_policy=doc).decision is EXPLICIT
    assert is_public(doc)
    private = documents.bucket_policy("cf-s3-1", public=False, tls_only=True)
    assert not is_public(private)
    assert not evaluate(Request(**read, context={"aws:SecureTransport": "true"}), resource_policy=private)
    external = documents.external_bucket_policy("theirs", CARLOS, read_only=True, path_prefix=None)
    assert not is_public(external)


def test_policy_variables_in_a_resource_are_filled_from_the_request():
    """RESOURCE / "IAM policy elements: Variables and tags": ${aws:username} is the caller's user name;
    a variable the request lacks (an anonymous caller has no user name) matches nothing."""
    doc = policy(allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*"))
    assert evaluate(user_request("s3:GetObject", "arn:aws:s3:::home/carlossalazar/k"), [doc])
    assert not evaluate(user_request("s3:GetObject", "arn:aws:s3:::home/someoneelse/k"), [doc])
    bucket = policy({**allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*"), "Principal": "*"})
    assert not evaluate(Request("s3:GetObject", "arn:aws:s3:::home//k"), resource_policy=bucket)
