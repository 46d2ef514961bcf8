"""Policy documents are pure data: what moto cannot enforce (Conditions, Block Public Access) is checked here."""

from __future__ import annotations

from broker import policies


def statements_by_sid(document: dict) -> dict[str, dict]:
    return {statement["Sid"]: statement for statement in document["Statement"]}


def test_read_only_is_get_and_list_only() -> None:
    document = policies.user_policy(["b"], read_only=True)
    actions = {a for s in document["Statement"] for a in s["Action"]}
    assert actions == set(policies.READ_ONLY_BUCKET_ACTIONS) | set(policies.READ_ONLY_OBJECT_ACTIONS)
    assert all(a.split(":")[1].startswith(("Get", "List")) for a in actions)


def test_read_write_adds_writes_multipart_and_cors() -> None:
    document = statements_by_sid(policies.user_policy(["b"], read_only=False))
    assert {"s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"} <= set(
        document["Objects"]["Action"]
    )
    assert "s3:PutBucketCORS" in document["Bucket"]["Action"]
    assert document["Bucket"]["Resource"] == ["arn:aws:s3:::b"]
    assert document["Objects"]["Resource"] == ["arn:aws:s3:::b/*"]
    assert not any(a in ("s3:*", "*") for s in document.values() for a in s["Action"])


def test_path_prefix_scopes_objects_and_listing() -> None:
    document = statements_by_sid(policies.user_policy(["b"], read_only=True, path_prefix="img/"))
    assert document["Objects"]["Resource"] == ["arn:aws:s3:::b/img/*"]
    assert document["ListUnderPrefix"]["Action"] == ["s3:ListBucket", "s3:ListBucketVersions"]
    assert document["ListUnderPrefix"]["Condition"] == {"StringLike": {"s3:prefix": ["img/*"]}}
    assert "s3:ListBucket" not in document["Bucket"]["Action"]


def test_several_buckets_share_statements() -> None:
    document = statements_by_sid(policies.user_policy(["a", "b"], read_only=False))
    assert document["Bucket"]["Resource"] == ["arn:aws:s3:::a", "arn:aws:s3:::b"]
    assert document["Objects"]["Resource"] == ["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"]


def test_kms_permissions_follow_the_permissions() -> None:
    key = "arn:aws:kms:eu-west-2:111122223333:key/abc"
    via = "s3.eu-west-2.amazonaws.com"
    read = statements_by_sid(policies.user_policy(["b"], read_only=True, kms_key_arns=[key, key], s3_service=via))
    write = statements_by_sid(policies.user_policy(["b"], read_only=False, kms_key_arns=[key], s3_service=via))
    assert read["BucketKeys"] == {
        "Sid": "BucketKeys",
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": [key],
        "Condition": {"StringEquals": {"kms:ViaService": [via]}},
    }
    assert write["BucketKeys"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert "BucketKeys" not in statements_by_sid(policies.user_policy(["b"], read_only=True))


def test_source_cidrs_deny_everything_from_elsewhere() -> None:
    document = policies.user_policy(["b"], read_only=False, allowed_source_cidrs=["10.0.0.0/8"])
    deny = document["Statement"][-1]
    assert deny["Effect"] == "Deny"
    assert deny["Action"] == ["s3:*", "kms:*"]
    assert deny["Resource"] == "*"
    assert deny["Condition"] == {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}}


def test_external_bucket_policy_names_the_user() -> None:
    arn = "arn:aws:iam::123456789012:user/cf-s3-broker/cf-s3-x"
    document = policies.external_bucket_policy("legacy", arn, read_only=False, path_prefix=None)
    assert {s["Principal"]["AWS"] for s in document["Statement"]} == {arn}
    assert {a for s in document["Statement"] for a in s["Action"]} >= {"s3:PutObject", "s3:ListBucket"}


def test_public_read_policy_reads_objects_only() -> None:
    statement = policies.public_read_policy("b")["Statement"][0]
    assert statement == {
        "Sid": "PublicReadObjects",
        "Effect": "Allow",
        "Principal": "*",
        "Action": ["s3:GetObject"],
        "Resource": ["arn:aws:s3:::b/*"],
    }


def test_block_public_access_relaxes_only_policy_blocks_for_public_buckets() -> None:
    assert all(policies.public_access_block(False).values())
    assert policies.public_access_block(True) == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": False,
        "RestrictPublicBuckets": False,
    }


def test_policy_size_limit() -> None:
    guid_bucket = "cf-s3-" + "0" * 36
    ten = [guid_bucket] * 11
    assert policies.fits_user_policy_limit(policies.user_policy([guid_bucket] * 3, read_only=False))
    assert not policies.fits_user_policy_limit(policies.user_policy(ten * 2, read_only=False))
