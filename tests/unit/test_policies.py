"""Policy documents are pure data: what moto cannot enforce (Conditions, Block Public Access) is checked here."""

from __future__ import annotations

import json

import pytest

from broker.local.policy_evaluation import evaluate
from broker.policy import account_policies, documents
from broker.settings import from_env
from testing.policy_lint import serious_findings

OWN_ACCOUNT = "111122223333"


def statements_by_sid(document: dict) -> dict[str, dict]:
    return {statement["Sid"]: statement for statement in document["Statement"]}


def test_read_only_is_get_and_list_only() -> None:
    document = documents.user_policy(["b"], own_account=OWN_ACCOUNT, read_only=True)
    actions = {a for s in document["Statement"] for a in s["Action"]}
    assert actions == set(documents.READ_ONLY_BUCKET_ACTIONS) | set(documents.READ_ONLY_OBJECT_ACTIONS)
    assert all(a.split(":")[1].startswith(("Get", "List")) for a in actions)


def test_read_write_adds_writes_multipart_and_cors() -> None:
    document = statements_by_sid(documents.user_policy(["b"], own_account=OWN_ACCOUNT, read_only=False))
    assert {"s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"} <= set(
        document["Objects"]["Action"]
    )
    assert "s3:PutBucketCORS" in document["Bucket"]["Action"]
    assert document["Bucket"]["Resource"] == ["arn:aws:s3:::b"]
    assert document["Objects"]["Resource"] == ["arn:aws:s3:::b/*"]
    assert not any(a in ("s3:*", "*") for s in document.values() for a in s["Action"])


def test_path_prefix_scopes_objects_and_listing() -> None:
    document = statements_by_sid(
        documents.user_policy(["b"], own_account=OWN_ACCOUNT, read_only=True, path_prefix="img/")
    )
    assert document["Objects"]["Resource"] == ["arn:aws:s3:::b/img/*"]
    assert document["ListUnderPrefix"]["Action"] == ["s3:ListBucket", "s3:ListBucketVersions"]
    assert document["ListUnderPrefix"]["Condition"] == {
        "StringLike": {"s3:prefix": ["img/*"]},
        "StringEquals": {"s3:ResourceAccount": [OWN_ACCOUNT]},
    }
    assert "s3:ListBucket" not in document["Bucket"]["Action"]


def test_several_buckets_share_statements() -> None:
    document = statements_by_sid(documents.user_policy(["a", "b"], own_account=OWN_ACCOUNT, read_only=False))
    assert document["Bucket"]["Resource"] == ["arn:aws:s3:::a", "arn:aws:s3:::b"]
    assert document["Objects"]["Resource"] == ["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"]


def test_kms_permissions_follow_the_permissions() -> None:
    key = "arn:aws:kms:eu-west-2:111122223333:key/abc"
    via = "s3.eu-west-2.amazonaws.com"
    read = statements_by_sid(
        documents.user_policy(["b"], own_account=OWN_ACCOUNT, read_only=True, kms_key_arns=[key, key], s3_service=via)
    )
    write = statements_by_sid(
        documents.user_policy(["b"], own_account=OWN_ACCOUNT, read_only=False, kms_key_arns=[key], s3_service=via)
    )
    assert read["BucketKeys"] == {
        "Sid": "BucketKeys",
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": [key],
        "Condition": {"StringEquals": {"kms:ViaService": [via]}},
    }
    assert write["BucketKeys"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert "BucketKeys" not in statements_by_sid(documents.user_policy(["b"], own_account=OWN_ACCOUNT, read_only=True))


def test_source_cidrs_deny_everything_from_elsewhere() -> None:
    document = documents.user_policy(
        ["b"], own_account=OWN_ACCOUNT, read_only=False, allowed_source_cidrs=["10.0.0.0/8"]
    )
    deny = document["Statement"][-1]
    assert deny["Sid"] == "OnlyFromPlatform"
    assert deny["Effect"] == "Deny"
    assert deny["Action"] == ["s3:*"]
    assert deny["Resource"] == "*"
    assert deny["Condition"] == {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}}


def test_sse_kms_works_through_a_vpc_endpoint() -> None:
    """S3 calls KMS on the key's behalf: that call carries kms:ViaService and aws:ViaAWSService, but neither
    aws:SourceVpce nor aws:SourceIp (AWS KMS docs), so a Deny outside the platform must not cover it. KMS
    stays limited by kms:ViaService: the key cannot call KMS itself, from anywhere."""
    from broker.local.policy_evaluation import Decision
    from broker.local.policy_statements import Request

    key = "arn:aws:kms:eu-west-2:111122223333:key/abc"
    via = "s3.eu-west-2.amazonaws.com"
    document = documents.user_policy(
        ["b"],
        own_account="111122223333",
        read_only=False,
        kms_key_arns=[key],
        s3_service=via,
        allowed_vpc_endpoints=["vpce-1a2b3c4d"],
    )
    user = {
        "principal_arn": "arn:aws:iam::111122223333:user/cf-s3-broker/i/cf-s3-k",
        "principal_account": "111122223333",
    }
    put = Request("s3:PutObject", "arn:aws:s3:::b/k", **user, context={"aws:SourceVpce": "vpce-1a2b3c4d"})
    assert evaluate(put, [document]).decision is Decision.ALLOW
    on_behalf = {"kms:ViaService": via, "aws:ViaAWSService": "true"}
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        assert evaluate(Request(action, key, **user, context=on_behalf), [document]).decision is Decision.ALLOW
        by_itself = Request(action, key, **user, context={"aws:SourceVpce": "vpce-1a2b3c4d"})
        assert evaluate(by_itself, [document]).decision is Decision.IMPLICIT_DENY
    outside = Request("s3:PutObject", "arn:aws:s3:::b/k", **user, context={"aws:SourceIp": "198.51.100.7"})
    assert evaluate(outside, [document]).decision is Decision.EXPLICIT_DENY


def test_external_bucket_policy_names_the_user() -> None:
    arn = "arn:aws:iam::123456789012:user/cf-s3-broker/cf-s3-x"
    document = documents.external_bucket_policy("legacy", arn, read_only=False, path_prefix=None)
    assert {s["Principal"]["AWS"] for s in document["Statement"]} == {arn}
    assert {a for s in document["Statement"] for a in s["Action"]} >= {"s3:PutObject", "s3:ListBucket"}


def test_public_read_policy_reads_objects_only() -> None:
    statement = documents.public_read_policy("b")["Statement"][0]
    assert statement == {
        "Sid": "PublicReadObjects",
        "Effect": "Allow",
        "Principal": "*",
        "Action": ["s3:GetObject"],
        "Resource": ["arn:aws:s3:::b/*"],
    }


def test_block_public_access_relaxes_only_policy_blocks_for_public_buckets() -> None:
    assert all(documents.public_access_block(False).values())
    assert documents.public_access_block(True) == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": False,
        "RestrictPublicBuckets": False,
    }


def test_policy_size_limit() -> None:
    guid_bucket = "cf-s3-" + "0" * 36
    ten = [guid_bucket] * 11
    assert documents.fits_user_policy_limit(
        documents.user_policy([guid_bucket] * 3, own_account=OWN_ACCOUNT, read_only=False)
    )
    assert not documents.fits_user_policy_limit(
        documents.user_policy(ten * 2, own_account=OWN_ACCOUNT, read_only=False)
    )


OTHER_ACCOUNT = "444455556666"
OWN_ACCOUNT_ONLY = {"StringEquals": {"s3:ResourceAccount": [OWN_ACCOUNT]}}
ALLOWED_ACCOUNTS_ONLY = {"StringEquals": {"s3:ResourceAccount": [OTHER_ACCOUNT]}}
READ_ONLY_OBJECTS = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging"]
READ_WRITE_OBJECTS = [
    *READ_ONLY_OBJECTS,
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectTagging",
    "s3:DeleteObjectTagging",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
]


def allow(sid: str, actions: list[str], resources: list[str], **extra: object) -> dict:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def test_arns_default_to_the_commercial_partition_and_follow_any_other() -> None:
    assert documents.bucket_arn("b") == "arn:aws:s3:::b"
    assert documents.objects_arn("b") == "arn:aws:s3:::b/*"
    assert documents.bucket_arn("b", "aws-cn") == "arn:aws-cn:s3:::b"
    assert documents.objects_arn("b", "img/", "aws-us-gov") == "arn:aws-us-gov:s3:::b/img/*"
    assert documents.public_read_policy("b", "aws-cn")["Statement"][0]["Resource"] == ["arn:aws-cn:s3:::b/*"]


def test_own_buckets_only_in_the_own_account_external_ones_only_in_allowed_accounts() -> None:
    document = documents.user_policy(
        ["own"],
        read_only=False,
        external_buckets=["ext"],
        external_accounts=[OTHER_ACCOUNT],
        own_account=OWN_ACCOUNT,
        partition="aws-cn",
    )
    assert document == {
        "Version": "2012-10-17",
        "Statement": [
            allow(
                "Bucket",
                [
                    "s3:ListBucket",
                    "s3:ListBucketVersions",
                    "s3:GetBucketLocation",
                    "s3:GetBucketCORS",
                    "s3:ListBucketMultipartUploads",
                    "s3:PutBucketCORS",
                ],
                ["arn:aws-cn:s3:::own"],
                Condition=OWN_ACCOUNT_ONLY,
            ),
            allow("Objects", READ_WRITE_OBJECTS, ["arn:aws-cn:s3:::own/*"], Condition=OWN_ACCOUNT_ONLY),
            allow(
                "ExternalBucket",
                ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation"],
                ["arn:aws-cn:s3:::ext"],
                Condition=ALLOWED_ACCOUNTS_ONLY,
            ),
            allow("ExternalObjects", READ_WRITE_OBJECTS, ["arn:aws-cn:s3:::ext/*"], Condition=ALLOWED_ACCOUNTS_ONLY),
        ],
    }


def test_a_prefix_key_lists_under_its_prefix_in_the_own_and_the_allowed_accounts() -> None:
    document = documents.user_policy(
        ["own"],
        read_only=True,
        path_prefix="img/",
        external_buckets=["ext"],
        external_accounts=[OTHER_ACCOUNT],
        own_account=OWN_ACCOUNT,
    )
    under_prefix = {"StringLike": {"s3:prefix": ["img/*"]}}
    assert document["Statement"] == [
        allow(
            "ListUnderPrefix",
            ["s3:ListBucket", "s3:ListBucketVersions"],
            ["arn:aws:s3:::own"],
            Condition={**under_prefix, **OWN_ACCOUNT_ONLY},
        ),
        allow("Bucket", ["s3:GetBucketLocation", "s3:GetBucketCORS"], ["arn:aws:s3:::own"], Condition=OWN_ACCOUNT_ONLY),
        allow("Objects", READ_ONLY_OBJECTS, ["arn:aws:s3:::own/img/*"], Condition=OWN_ACCOUNT_ONLY),
        allow(
            "ExternalListUnderPrefix",
            ["s3:ListBucket", "s3:ListBucketVersions"],
            ["arn:aws:s3:::ext"],
            Condition={**under_prefix, **ALLOWED_ACCOUNTS_ONLY},
        ),
        allow("ExternalBucket", ["s3:GetBucketLocation"], ["arn:aws:s3:::ext"], Condition=ALLOWED_ACCOUNTS_ONLY),
        allow("ExternalObjects", READ_ONLY_OBJECTS, ["arn:aws:s3:::ext/img/*"], Condition=ALLOWED_ACCOUNTS_ONLY),
    ]


def test_a_policy_that_could_not_be_kept_inside_its_walls_is_not_made() -> None:
    refused = r"^external buckets need the accounts they may belong to, never the broker's own$"
    with pytest.raises(ValueError, match=refused):
        documents.user_policy(["b"], own_account=OWN_ACCOUNT, read_only=True, external_buckets=["ext"])
    with pytest.raises(ValueError, match=refused):
        documents.user_policy(
            ["b"], own_account=OWN_ACCOUNT, read_only=True, external_buckets=["e"], external_accounts=[OWN_ACCOUNT]
        )
    for account in ("", "*", "11112222333"):
        with pytest.raises(ValueError, match="is not the broker's AWS account id"):
            documents.user_policy(["b"], own_account=account, read_only=True)
    with pytest.raises(ValueError, match=r"^KMS permissions need the S3 service name for kms:ViaService$"):
        documents.user_policy(
            ["b"], own_account=OWN_ACCOUNT, read_only=True, kms_key_arns=["arn:aws:kms:eu-west-2:111122223333:key/k"]
        )


def test_external_bucket_policy_with_a_prefix_and_read_only() -> None:
    user = "arn:aws:iam::123456789012:user/cf-s3-broker/i/cf-s3-x"
    document = documents.external_bucket_policy("legacy", user, read_only=True, path_prefix="img/")
    principal = {"AWS": user}
    assert document == {
        "Version": "2012-10-17",
        "Statement": [
            allow(
                "ListUnderPrefix",
                ["s3:ListBucket", "s3:ListBucketVersions"],
                ["arn:aws:s3:::legacy"],
                Condition={"StringLike": {"s3:prefix": ["img/*"]}},
                Principal=principal,
            ),
            allow("Bucket", ["s3:GetBucketLocation"], ["arn:aws:s3:::legacy"], Principal=principal),
            allow("Objects", READ_ONLY_OBJECTS, ["arn:aws:s3:::legacy/img/*"], Principal=principal),
        ],
    }
    writes = documents.external_bucket_policy("legacy", user, read_only=False, path_prefix=None, partition="aws-cn")
    assert writes["Statement"][-1]["Action"] == READ_WRITE_OBJECTS
    assert writes["Statement"][-1]["Resource"] == ["arn:aws-cn:s3:::legacy/*"]


def test_policy_size_is_counted_minified_up_to_the_limit_inclusive() -> None:
    assert documents.minified({"a": [1, "b"], "c": {"d": None}}) == '{"a":[1,"b"],"c":{"d":null}}'
    overhead = len(documents.minified({"x": ""}))
    assert documents.fits_user_policy_limit({"x": "y" * (documents.USER_POLICY_MAX_CHARS - overhead)})
    assert not documents.fits_user_policy_limit({"x": "y" * (documents.USER_POLICY_MAX_CHARS - overhead + 1)})


def test_tls_only_denies_every_s3_action_to_everyone_without_tls() -> None:
    assert documents.bucket_policy("b", public=False, tls_only=True) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyRequestsWithoutTLS",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    assert documents.bucket_policy("b", public=False, tls_only=False) is None
    # The public-read policy alone carries no TLS statement.
    assert [s["Sid"] for s in documents.public_read_policy("b")["Statement"]] == ["PublicReadObjects"]


def test_a_key_is_never_both_read_only_and_write_only() -> None:
    with pytest.raises(ValueError, match=r"^a key is read-only or write-only, not both$"):
        documents.key_actions(read_only=True, write_only=True)
    assert documents.key_actions(read_only=False, write_only=True) == ((), documents.WRITE_ONLY_OBJECT_ACTIONS)


def test_a_public_website_serves_its_pages_over_http_and_everything_else_only_over_tls() -> None:
    """S3's website endpoint speaks HTTP only: its visitors' reads are anonymous GetObject without TLS.

    On AWS the TLS-only Deny would refuse them, so the site could never be served. Judged here by the
    local evaluator (AWS's documented policy semantics), since S3's website endpoint is not modelled.
    """
    from broker.local.policy_evaluation import Decision
    from broker.local.policy_statements import Request

    document = documents.bucket_policy("b", public=True, tls_only=True, website=True, referers=())
    assert document is not None
    user = {
        "principal_arn": "arn:aws:iam::111122223333:user/cf-s3-broker/i/cf-s3-k",
        "principal_account": "111122223333",
    }

    def decision(action: str, resource: str, tls: bool, **principal: str) -> Decision:
        context = {"aws:SecureTransport": "true" if tls else "false"}
        return evaluate(Request(action, resource, context=context, **principal), resource_policy=document).decision

    page = "arn:aws:s3:::b/index.html"
    assert decision("s3:GetObject", page, tls=False) is Decision.ALLOW  # a visitor of the website endpoint
    assert decision("s3:GetObject", page, tls=True) is Decision.ALLOW
    # A key's own requests still need TLS, reads included; so does everything but a read, for anyone.
    assert decision("s3:GetObject", page, tls=False, **user) is Decision.EXPLICIT_DENY
    assert decision("s3:PutObject", page, tls=False, **user) is Decision.EXPLICIT_DENY
    assert decision("s3:PutObject", page, tls=False) is Decision.EXPLICIT_DENY
    assert decision("s3:ListBucket", "arn:aws:s3:::b", tls=False, **user) is Decision.EXPLICIT_DENY
    assert decision("s3:GetBucketCORS", "arn:aws:s3:::b", tls=False) is Decision.EXPLICIT_DENY
    # The local backend's judge of anonymous reads agrees.
    plain = {"aws:SecureTransport": "false"}
    assert evaluate(Request("s3:GetObject", page, context=plain), resource_policy=document)
    assert not evaluate(Request("s3:PutObject", page, context=plain), resource_policy=document)
    # Without a website, nothing goes without TLS, anonymous reads included.
    plain = documents.bucket_policy("b", public=True, tls_only=True)
    anonymous_read = Request("s3:GetObject", page, context={"aws:SecureTransport": "false"})
    assert evaluate(anonymous_read, resource_policy=plain).decision is Decision.EXPLICIT_DENY


def test_a_write_only_key_gets_no_bucket_action_on_its_own_or_an_external_bucket() -> None:
    document = documents.user_policy(
        ["own"],
        read_only=False,
        write_only=True,
        external_buckets=["ext"],
        external_accounts=[OTHER_ACCOUNT],
        own_account=OWN_ACCOUNT,
    )
    uploads = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    assert document["Statement"] == [
        allow("Objects", uploads, ["arn:aws:s3:::own/*"], Condition=OWN_ACCOUNT_ONLY),
        allow("ExternalObjects", uploads, ["arn:aws:s3:::ext/*"], Condition=ALLOWED_ACCOUNTS_ONLY),
    ]


def test_an_expiring_key_holds_every_allow_until_its_time_only() -> None:
    until = {"DateLessThan": {"aws:CurrentTime": "2030-01-02T03:04:05Z"}}
    document = documents.user_policy(
        ["own"],
        read_only=True,
        path_prefix="img/",
        own_account=OWN_ACCOUNT,
        kms_key_arns=["arn:aws:kms:eu-west-2:111122223333:key/k"],
        s3_service="s3.eu-west-2.amazonaws.com",
        expires_at="2030-01-02T03:04:05Z",
    )
    conditions = {statement["Sid"]: statement["Condition"] for statement in document["Statement"]}
    assert conditions == {
        "ListUnderPrefix": {"StringLike": {"s3:prefix": ["img/*"]}, **OWN_ACCOUNT_ONLY, **until},
        "Bucket": {**OWN_ACCOUNT_ONLY, **until},
        "Objects": {**OWN_ACCOUNT_ONLY, **until},
        "BucketKeys": {"StringEquals": {"kms:ViaService": ["s3.eu-west-2.amazonaws.com"]}, **until},
    }


FACTS = account_policies.facts_for(from_env({"BROKER_USERNAME": "u", "BROKER_PASSWORD": "p"}), OWN_ACCOUNT)


def test_a_template_places_a_list_only_as_a_json_string_of_its_own() -> None:
    template = '{"Account": "${EXTERNAL_ACCOUNT_IDS}", "Bucket": "arn:${PARTITION}:s3:::${BUCKET_PREFIX}*"}'
    assert account_policies.fill(template, FACTS) == {"Account": [], "Bucket": "arn:aws:s3:::cf-s3-*"}
    with pytest.raises(ValueError) as caught:
        account_policies.fill('{"Bad": "account ${EXTERNAL_ACCOUNT_IDS}"}', FACTS)
    assert str(caught.value) == "${EXTERNAL_ACCOUNT_IDS} is a list: it must be a whole JSON string of its own"
    with pytest.raises(KeyError, match=r"no value for placeholder \$\{NOPE\}"):
        account_policies.fill('{"Bad": "${NOPE}"}', FACTS)


def test_only_statements_for_other_accounts_go_when_there_are_none() -> None:
    # A statement without a Condition is for no account in particular: it stays.
    assert not account_policies._for_no_account({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"})
    assert account_policies._for_no_account({"Condition": {"StringEquals": {"s3:ResourceAccount": []}}})
    assert not account_policies._for_no_account({"Condition": {"StringEquals": {"s3:ResourceAccount": ["1"]}}})


def test_the_deleting_policy_denies_every_write_to_everyone_and_nothing_else() -> None:
    document = json.loads(documents.deleting_bucket_policy("cf-s3-x", "eu-west-2"))
    assert serious_findings(document, resource_policy=True) == []
    deny = {"Sid": "NoWritesWhileDeleting", "Effect": "Deny", "Principal": "*", "Action": ["s3:PutObject"]}
    assert document == {"Version": "2012-10-17", "Statement": [{**deny, "Resource": ["arn:aws:s3:::cf-s3-x/*"]}]}
    in_china = json.loads(documents.deleting_bucket_policy("b", "cn-north-1"))
    assert in_china["Statement"] == [{**deny, "Resource": ["arn:aws-cn:s3:::b/*"]}]
