"""Settings are read and checked once; bad ones stop the broker from starting."""

from __future__ import annotations

import pytest

from broker.bucket_config import create_bucket_arguments
from broker.settings import SettingsError, aws_configured, from_env

CREDENTIALS = {"BROKER_USERNAME": "u", "BROKER_PASSWORD": "p"}


def test_defaults() -> None:
    settings = from_env(CREDENTIALS)
    assert settings.aws_region == "us-east-1"
    assert settings.bucket_name("abc") == "cf-s3-abc"
    assert settings.user_name("b") == "cf-s3-b"
    assert settings.s3_endpoint == "https://s3.us-east-1.amazonaws.com"
    assert settings.allowed_source_cidrs == ()


@pytest.mark.parametrize("prefix", ["UPPER-", "under_score-", "-dash", "x" * 28, "xn--", "sthree-a"])
def test_bucket_prefix_must_make_valid_bucket_names(prefix: str) -> None:
    with pytest.raises(SettingsError, match="BUCKET_PREFIX"):
        from_env({**CREDENTIALS, "BUCKET_PREFIX": prefix})


def test_iam_user_prefix_and_path_are_checked() -> None:
    with pytest.raises(SettingsError, match="IAM_USER_PREFIX"):
        from_env({**CREDENTIALS, "IAM_USER_PREFIX": "x" * 29})
    with pytest.raises(SettingsError, match="IAM_USER_PATH"):
        from_env({**CREDENTIALS, "IAM_USER_PATH": "no-slashes"})


def test_cidrs_are_parsed_and_checked() -> None:
    settings = from_env({**CREDENTIALS, "ALLOWED_SOURCE_CIDRS": "10.0.0.0/8, 192.0.2.1/32"})
    assert settings.allowed_source_cidrs == ("10.0.0.0/8", "192.0.2.1/32")
    with pytest.raises(SettingsError, match="ALLOWED_SOURCE_CIDRS"):
        from_env({**CREDENTIALS, "ALLOWED_SOURCE_CIDRS": "10.0.0.0/33"})


def test_broker_credentials_are_required() -> None:
    with pytest.raises(SettingsError, match="BROKER_USERNAME"):
        from_env({})


def test_on_cloud_foundry_aws_settings_are_required() -> None:
    with pytest.raises(SettingsError, match="AWS_ACCESS_KEY_ID"):
        from_env({**CREDENTIALS, "VCAP_APPLICATION": "{}"})


def test_unrelated_aws_variables_do_not_mean_aws_is_configured() -> None:
    assert not aws_configured({"AWS_CA_BUNDLE": "/etc/ssl/certs/ca.pem", "AWS_REGION": "eu-west-2"})
    assert aws_configured({"AWS_ACCESS_KEY_ID": "AKIA..."})
    assert aws_configured({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"})


def test_create_bucket_location_constraint_only_outside_us_east_1() -> None:
    assert create_bucket_arguments("b", "us-east-1") == {"Bucket": "b", "ObjectOwnership": "BucketOwnerEnforced"}
    assert create_bucket_arguments("b", "eu-west-2")["CreateBucketConfiguration"] == {"LocationConstraint": "eu-west-2"}


def test_key_probe_addresses_aws_virtual_hosted_and_local_endpoints_path_style() -> None:
    from broker.probe import KeyProbe

    aws = KeyProbe("eu-west-2", None, pool_size=1)
    assert aws.url("cf-s3-abc", "img/") == (
        "https://cf-s3-abc.s3.eu-west-2.amazonaws.com/?list-type=2&max-keys=1&prefix=img%2F"
    )
    local = KeyProbe("us-east-1", "http://127.0.0.1:5000/", pool_size=1)
    assert local.url("cf-s3-abc", "") == "http://127.0.0.1:5000/cf-s3-abc?list-type=2&max-keys=1&prefix="


@pytest.mark.parametrize("prefix", ["", "cf"])
def test_bucket_prefix_must_be_a_namespace_of_its_own(prefix: str) -> None:
    # An empty prefix would turn the broker policy's arn:aws:s3:::PREFIX* into every bucket.
    with pytest.raises(SettingsError, match="BUCKET_PREFIX"):
        from_env({**CREDENTIALS, "BUCKET_PREFIX": prefix})
    with pytest.raises(SettingsError, match="IAM_USER_PREFIX"):
        from_env({**CREDENTIALS, "IAM_USER_PREFIX": ""})


@pytest.mark.parametrize(
    ("region", "partition", "endpoint"),
    [
        ("eu-west-2", "aws", "https://s3.eu-west-2.amazonaws.com"),
        ("us-gov-west-1", "aws-us-gov", "https://s3.us-gov-west-1.amazonaws.com"),
        ("cn-north-1", "aws-cn", "https://s3.cn-north-1.amazonaws.com.cn"),
    ],
)
def test_partition_follows_the_region(region: str, partition: str, endpoint: str) -> None:
    from broker import policies
    from broker.probe import KeyProbe

    settings = from_env({**CREDENTIALS, "AWS_REGION": region})
    assert settings.partition == partition
    assert settings.s3_endpoint == endpoint
    assert (
        KeyProbe(region, None, pool_size=1).url("b", "").startswith(f"https://b.{endpoint.removeprefix('https://')}/")
    )
    document = policies.user_policy(["b"], read_only=True, partition=settings.partition)
    assert {r for s in document["Statement"] for r in s["Resource"]} == {
        f"arn:{partition}:s3:::b",
        f"arn:{partition}:s3:::b/*",
    }


CF_AWS = {
    **CREDENTIALS,
    "VCAP_APPLICATION": "{}",
    "AWS_ACCESS_KEY_ID": "AKIA",
    "AWS_SECRET_ACCESS_KEY": "s",
    "AWS_REGION": "eu-west-2",
}


def test_on_cloud_foundry_the_permissions_boundary_is_required_unless_opted_out() -> None:
    with pytest.raises(SettingsError, match=r"IAM_PERMISSIONS_BOUNDARY_ARN.*ALLOW_USERS_WITHOUT_BOUNDARY"):
        from_env(CF_AWS)
    assert from_env({**CF_AWS, "ALLOW_USERS_WITHOUT_BOUNDARY": "true"}).iam_permissions_boundary_arn is None
    boundary = "arn:aws:iam::111122223333:policy/s3-broker-binding-boundary"
    assert from_env({**CF_AWS, "IAM_PERMISSIONS_BOUNDARY_ARN": boundary}).iam_permissions_boundary_arn == boundary
    with pytest.raises(SettingsError, match="ALLOW_USERS_WITHOUT_BOUNDARY"):
        from_env({**CF_AWS, "ALLOW_USERS_WITHOUT_BOUNDARY": "yes please"})


def test_allowed_kms_keys_are_key_arns_of_the_partition() -> None:
    key = "arn:aws:kms:eu-west-2:111122223333:key/abcd-1234"
    assert from_env({**CREDENTIALS, "ALLOWED_KMS_KEY_ARNS": f" {key} ,"}).allowed_kms_key_arns == (key,)
    for wrong in ("alias/mine", "arn:aws:kms:eu-west-2:1:key/x", key.replace("arn:aws:", "arn:aws-cn:")):
        with pytest.raises(SettingsError, match="ALLOWED_KMS_KEY_ARNS"):
            from_env({**CREDENTIALS, "ALLOWED_KMS_KEY_ARNS": wrong})


def test_deprovision_sync_max_objects_is_one_listing_page_at_most() -> None:
    base = CREDENTIALS
    assert from_env(base).deprovision_sync_max_objects == 1000
    assert from_env({**base, "DEPROVISION_SYNC_MAX_OBJECTS": "0"}).deprovision_sync_max_objects == 0
    for wrong in ("1001", "-1", "many"):
        with pytest.raises(SettingsError, match="DEPROVISION_SYNC_MAX_OBJECTS"):
            from_env({**base, "DEPROVISION_SYNC_MAX_OBJECTS": wrong})
