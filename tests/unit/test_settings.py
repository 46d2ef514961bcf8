"""Settings are read and checked once; bad ones stop the broker from starting."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from broker.aws.bucket_config import create_bucket_arguments
from broker.settings import DEFAULT_CATALOG, Settings, SettingsError, aws_configured, from_env

CREDENTIALS = {"BROKER_USERNAME": "u", "BROKER_PASSWORD": "p"}


def test_defaults() -> None:
    settings = from_env(CREDENTIALS)
    assert settings.aws_region == "us-east-1"
    assert settings.bucket_name("abc") == "cf-s3-abc"
    assert settings.user_name("b") == "cf-s3-b"
    assert settings.s3_endpoint == "https://s3.us-east-1.amazonaws.com"
    assert settings.allowed_source_cidrs == ()


@pytest.mark.parametrize("prefix", ["UPPER-", "under_score-", "-dash", "x" * 28, "xn--", "sthree-a", "amzn-s3-demo-"])
def test_bucket_prefix_must_make_valid_bucket_names(prefix: str) -> None:
    with pytest.raises(SettingsError, match="BUCKET_PREFIX"):
        from_env({**CREDENTIALS, "BUCKET_PREFIX": prefix})


def test_iam_user_prefix_and_path_are_checked() -> None:
    with pytest.raises(SettingsError, match="IAM_USER_PREFIX"):
        from_env({**CREDENTIALS, "IAM_USER_PREFIX": "x" * 29})
    with pytest.raises(SettingsError, match="IAM_USER_PATH"):
        from_env({**CREDENTIALS, "IAM_USER_PATH": "no-slashes"})


@pytest.mark.parametrize("path", ["/*/", "/team-?/", "/a/*/", "/${aws:username}/"])
def test_iam_user_path_may_hold_no_policy_wildcard_or_variable(path: str) -> None:
    # The broker policy's user ARNs are built from the path: a '*' there would cover every user at any path.
    with pytest.raises(SettingsError, match=r"IAM_USER_PATH.*wildcard"):
        from_env({**CREDENTIALS, "IAM_USER_PATH": path})


def test_iam_user_path_refusal_says_why_and_other_printable_paths_are_taken() -> None:
    with pytest.raises(SettingsError) as caught:
        from_env({**CREDENTIALS, "IAM_USER_PATH": "/team-*/"})
    assert str(caught.value) == (
        "IAM_USER_PATH '/team-*/' may not hold '*', '?' or '$': in the broker policy's user ARNs they are a "
        "wildcard or a policy variable, and would let the broker manage users at other paths"
    )
    assert from_env({**CREDENTIALS, "IAM_USER_PATH": "/Team-X/cf~s3/"}).iam_user_path == "/Team-X/cf~s3/"
    assert from_env({**CREDENTIALS, "IAM_USER_PATH": "/"}).iam_user_path == "/"


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
    from broker.aws.probe import KeyProbe

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
    from broker.aws.probe import KeyProbe
    from broker.policy import documents

    settings = from_env({**CREDENTIALS, "AWS_REGION": region})
    assert settings.partition == partition
    assert settings.s3_endpoint == endpoint
    assert (
        KeyProbe(region, None, pool_size=1).url("b", "").startswith(f"https://b.{endpoint.removeprefix('https://')}/")
    )
    document = documents.user_policy(["b"], own_account="111122223333", read_only=True, partition=settings.partition)
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


def test_every_variable_reaches_the_settings() -> None:
    settings = from_env(
        {
            **CREDENTIALS,
            "AWS_DEFAULT_REGION": "eu-west-2",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9/",
            "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "secret",
            "IAM_USER_PATH": "/team-a/",
            "KEY_PROPAGATION_TIMEOUT": "0",
            "DEPLOY_ENV": "staging",
            "CATALOG_PATH": "/etc/broker/catalog.yml",
            "LOG_LEVEL": "debug",
        }
    )
    assert (settings.broker_username, settings.broker_password) == ("u", "p")
    assert settings.aws_region == "eu-west-2"
    assert settings.aws_endpoint_url == "http://127.0.0.1:9/"
    assert settings.s3_endpoint == "http://127.0.0.1:9"
    assert (settings.aws_access_key_id, settings.aws_secret_access_key) == ("AKIAEXAMPLE", "secret")
    assert settings.user_path("i") == "/team-a/i/"
    assert settings.key_propagation_timeout == 0
    assert settings.deploy_env == "staging"
    assert settings.catalog_path == Path("/etc/broker/catalog.yml")
    assert settings.log_level == "DEBUG"
    assert from_env({**CREDENTIALS, "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-2"}).aws_region == (
        "eu-west-1"
    )


def test_defaults_of_the_optional_variables() -> None:
    settings = from_env(CREDENTIALS)
    assert settings.aws_endpoint_url is None
    assert (settings.aws_access_key_id, settings.aws_secret_access_key) == (None, None)
    assert settings.iam_user_path == "/cf-s3-broker/"
    assert settings.iam_permissions_boundary_arn is None
    assert settings.key_propagation_timeout == 30
    assert settings.deploy_env == ""
    assert settings.catalog_path == DEFAULT_CATALOG
    assert settings.log_level == "INFO"
    assert settings.allowed_kms_key_arns == ()


def test_empty_aws_variables_count_as_unset() -> None:
    empty = {"AWS_ENDPOINT_URL": "", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "CATALOG_PATH": ""}
    settings = from_env({**CREDENTIALS, **empty})
    assert (settings.aws_endpoint_url, settings.aws_access_key_id, settings.aws_secret_access_key) == (None, None, None)
    assert settings.catalog_path == DEFAULT_CATALOG


@pytest.mark.parametrize("given", [{"BROKER_USERNAME": "u"}, {"BROKER_PASSWORD": "p"}])
def test_both_broker_credentials_are_required(given: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match=r"^BROKER_USERNAME and BROKER_PASSWORD must both be set$"):
        from_env(given)


def test_key_propagation_timeout_is_zero_or_more_seconds() -> None:
    with pytest.raises(SettingsError, match=r"^KEY_PROPAGATION_TIMEOUT must be zero or more seconds$"):
        from_env({**CREDENTIALS, "KEY_PROPAGATION_TIMEOUT": "-0.5"})
    with pytest.raises(SettingsError, match=r"^KEY_PROPAGATION_TIMEOUT must be a number of seconds$"):
        from_env({**CREDENTIALS, "KEY_PROPAGATION_TIMEOUT": "soon"})
    assert from_env({**CREDENTIALS, "KEY_PROPAGATION_TIMEOUT": "0.5"}).key_propagation_timeout == 0.5


def test_prefix_lengths_leave_room_for_a_guid() -> None:
    longest_bucket_prefix, longest_user_prefix = "a" * 26 + "-", "A" * 28
    settings = from_env({**CREDENTIALS, "BUCKET_PREFIX": longest_bucket_prefix, "IAM_USER_PREFIX": longest_user_prefix})
    assert len(settings.bucket_name("0" * 36)) == 63 and len(settings.user_name("0" * 36)) == 64
    with pytest.raises(SettingsError, match=r"BUCKET_PREFIX 'aaaa.*' is too long: at most 27 characters"):
        from_env({**CREDENTIALS, "BUCKET_PREFIX": "a" + longest_bucket_prefix})
    with pytest.raises(SettingsError, match=r"IAM_USER_PREFIX 'AAAA.*' is too long: at most 28 characters"):
        from_env({**CREDENTIALS, "IAM_USER_PREFIX": "A" + longest_user_prefix})


def test_bucket_prefix_refusals_say_why() -> None:
    with pytest.raises(SettingsError) as caught:
        from_env({**CREDENTIALS, "BUCKET_PREFIX": "Team-"})
    assert str(caught.value) == (
        "BUCKET_PREFIX 'Team-' must start with a lower-case letter or digit, hold only a-z, 0-9 and '-', "
        "and end with '-' (an empty prefix would let the broker's policy reach every bucket of the account)"
    )
    for reserved in ("xn--a-", "sthree-a-"):
        with pytest.raises(SettingsError, match="uses a prefix S3 reserves"):
            from_env({**CREDENTIALS, "BUCKET_PREFIX": reserved})


def test_iam_user_prefix_may_use_every_character_iam_allows() -> None:
    assert from_env({**CREDENTIALS, "IAM_USER_PREFIX": "Team_A+=,.@-"}).user_name("b") == "Team_A+=,.@-b"
    with pytest.raises(SettingsError, match="must be non-empty and hold only letters, digits and"):
        from_env({**CREDENTIALS, "IAM_USER_PREFIX": "team/a"})


def test_cidrs_with_host_bits_are_taken_as_written() -> None:
    # Operators copy egress addresses with their mask; AWS reads 10.1.2.3/8 as 10.0.0.0/8.
    assert from_env({**CREDENTIALS, "ALLOWED_SOURCE_CIDRS": "10.1.2.3/8"}).allowed_source_cidrs == ("10.1.2.3/8",)


def test_flags_are_true_or_false_in_any_case() -> None:
    with pytest.raises(SettingsError, match=r"^IAM_PERMISSIONS_BOUNDARY_ARN is required"):
        from_env({**CF_AWS, "ALLOW_USERS_WITHOUT_BOUNDARY": "FALSE"})
    assert from_env({**CF_AWS, "ALLOW_USERS_WITHOUT_BOUNDARY": " True "}).iam_permissions_boundary_arn is None


def test_cloud_foundry_refusals_tell_the_operator_what_to_do() -> None:
    with pytest.raises(SettingsError) as caught:
        from_env({"VCAP_APPLICATION": "{}", "BROKER_PASSWORD": "p"})
    assert str(caught.value) == (
        "on Cloud Foundry these settings are required: BROKER_USERNAME, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
        "AWS_REGION"
    )
    with pytest.raises(SettingsError) as caught:
        from_env(CF_AWS)
    assert str(caught.value) == (
        "IAM_PERMISSIONS_BOUNDARY_ARN is required on Cloud Foundry: every binding user gets that permissions "
        "boundary, and the broker policy lets the broker create users only with it, so a leaked broker key "
        "cannot make an admin. Create it from `python -m broker policy boundary` (see docs/operators.md), "
        "or set ALLOW_USERS_WITHOUT_BOUNDARY=true to run without one knowingly."
    )


def test_an_aws_profile_means_aws_is_configured() -> None:
    assert aws_configured({"AWS_PROFILE": "prod"})
    assert not aws_configured({"AWS_PROFILE": ""})


def test_request_deadline_is_more_than_zero_and_at_most_fifty_seconds() -> None:
    assert from_env(CREDENTIALS).request_deadline == 30.0
    assert from_env({**CREDENTIALS, "REQUEST_DEADLINE": "50"}).request_deadline == 50.0
    assert from_env({**CREDENTIALS, "REQUEST_DEADLINE": "0.5"}).request_deadline == 0.5
    for wrong in ("0", "50.5", "-1"):
        with pytest.raises(SettingsError, match=r"^REQUEST_DEADLINE must be more than 0 and at most 50 seconds$"):
            from_env({**CREDENTIALS, "REQUEST_DEADLINE": wrong})
    with pytest.raises(SettingsError, match=r"^REQUEST_DEADLINE must be a number of seconds$"):
        from_env({**CREDENTIALS, "REQUEST_DEADLINE": "soon"})


def test_vpc_endpoint_ids_are_a_comma_separated_list_of_vpce_ids() -> None:
    ids = "vpce-0a1b2c3d4e5f60718, vpce-1a2b3c4d ,"
    settings = from_env({**CREDENTIALS, "ALLOWED_VPC_ENDPOINT_IDS": ids})
    assert settings.allowed_vpc_endpoint_ids == ("vpce-0a1b2c3d4e5f60718", "vpce-1a2b3c4d")
    with pytest.raises(SettingsError, match=r"^ALLOWED_VPC_ENDPOINT_IDS: 'vpc-1a2b3c4d' is not a VPC endpoint id"):
        from_env({**CREDENTIALS, "ALLOWED_VPC_ENDPOINT_IDS": "vpce-1a2b3c4d,vpc-1a2b3c4d"})


def test_deprovision_sync_limit_says_its_range() -> None:
    with pytest.raises(SettingsError, match=r"^DEPROVISION_SYNC_MAX_OBJECTS must be 0 to 1000 \(one listing page\)$"):
        from_env({**CREDENTIALS, "DEPROVISION_SYNC_MAX_OBJECTS": "1001"})


ORG = "8d3c5a1e-6b2f-4c7d-9e0a-1f2b3c4d5e6f"
OTHER_ORG = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def test_external_accounts_are_off_until_named_and_may_be_limited_to_orgs() -> None:
    assert from_env(CREDENTIALS).allowed_external_accounts == ()
    settings = from_env(
        {**CREDENTIALS, "ALLOWED_EXTERNAL_ACCOUNT_IDS": f" 111122223333 , 444455556666:{ORG},444455556666:{OTHER_ORG}"}
    )
    assert settings.external_account_ids == ("111122223333", "444455556666")
    # An account limited to orgs is open to a binding only when every org it is made for is one of them.
    assert settings.external_accounts_for([ORG]) == ("111122223333", "444455556666")
    assert settings.external_accounts_for([ORG, OTHER_ORG]) == ("111122223333", "444455556666")
    assert settings.external_accounts_for(["5e6f7a8b-0000-4000-8000-000000000000"]) == ("111122223333",)
    assert settings.external_accounts_for([]) == ("111122223333",)


@pytest.mark.parametrize("wrong", ["*", "11112222333", "1111-2222-3333", "111122223333:", "111122223333:org one"])
def test_external_accounts_are_twelve_digits_and_org_guids(wrong: str) -> None:
    with pytest.raises(SettingsError, match="ALLOWED_EXTERNAL_ACCOUNT_IDS"):
        from_env({**CREDENTIALS, "ALLOWED_EXTERNAL_ACCOUNT_IDS": wrong})


def test_external_account_refusal_says_how_to_write_one_and_empty_entries_are_skipped() -> None:
    with pytest.raises(SettingsError) as caught:
        from_env({**CREDENTIALS, "ALLOWED_EXTERNAL_ACCOUNT_IDS": "111122223333:org"})
    assert str(caught.value) == (
        "ALLOWED_EXTERNAL_ACCOUNT_IDS: '111122223333:org' is not an AWS account id (12 digits), optionally "
        "limited to one org as ACCOUNT:ORG_GUID (`cf org NAME --guid`)"
    )
    settings = from_env({**CREDENTIALS, "ALLOWED_EXTERNAL_ACCOUNT_IDS": "111122223333, ,444455556666,"})
    assert settings.external_account_ids == ("111122223333", "444455556666")


def test_waits_default_to_productions_and_are_settable() -> None:
    # Tests shorten these waits; production keeps these values.
    defaults = from_env(CREDENTIALS)
    assert (defaults.body_deadline, defaults.aws_read_timeout, defaults.aws_retry_max_backoff) == (10.0, 6.0, 20.0)
    names = {"BODY_DEADLINE": "body_deadline", "AWS_READ_TIMEOUT": "aws_read_timeout"}
    names["AWS_RETRY_MAX_BACKOFF"] = "aws_retry_max_backoff"
    for name, attribute in names.items():
        assert getattr(from_env({**CREDENTIALS, name: "0.25"}), attribute) == 0.25
        with pytest.raises(SettingsError, match=rf"^{name} must be more than 0 and at most 50 seconds$"):
            from_env({**CREDENTIALS, name: "0"})
    assert from_env({**CREDENTIALS, "AWS_READ_TIMEOUT": "6"}).aws_read_timeout == 6.0
    with pytest.raises(SettingsError, match=r"^AWS_READ_TIMEOUT must be more than 0 and at most 6 seconds$"):
        from_env({**CREDENTIALS, "AWS_READ_TIMEOUT": "6.5"})


INSTANCE = "8d3c5a1e-6b2f-4c7d-9e0a-1f2b3c4d5e6f"


def test_account_regional_names_hold_the_account_and_region_and_leave_room_for_them() -> None:
    regional = {**CREDENTIALS, "BUCKET_NAMESPACE": " Account-Regional ", "AWS_REGION": "eu-west-2"}
    settings = from_env({**regional, "BUCKET_PREFIX": "a" * 10 + "-"})
    assert settings.bucket_namespace == "account-regional"
    named = dataclasses.replace(settings, account_id="111122223333")
    assert named.bucket_name(INSTANCE) == "aaaaaaaaaa-ru6fuhtlf5gh3hqkd4vtytk6n4-111122223333-eu-west-2-an"
    assert len(named.bucket_name(INSTANCE)) == 63
    with pytest.raises(SettingsError) as caught:
        from_env({**regional, "BUCKET_PREFIX": "a" * 11 + "-"})
    assert str(caught.value) == (
        "BUCKET_PREFIX 'aaaaaaaaaaa-' is too long for BUCKET_NAMESPACE=account-regional in eu-west-2: at most 11 "
        "characters, so that the id and the suffix -ACCOUNT-eu-west-2-an fit S3's 63"
    )
    with pytest.raises(
        SettingsError, match=r"^BUCKET_NAMESPACE must be global or account-regional \(got 'regional'\)$"
    ):
        from_env({**CREDENTIALS, "BUCKET_NAMESPACE": "regional"})
    assert from_env(CREDENTIALS).bucket_namespace == "global"


@pytest.mark.parametrize(
    ("name", "attribute", "default", "message"),
    [
        ("MAX_BINDINGS_PER_INSTANCE", "max_bindings_per_instance", 50, "MAX_BINDINGS_PER_INSTANCE must be 1 to 5000"),
        ("MAX_IAM_USERS", "max_iam_users", 4500, "MAX_IAM_USERS must be 1 to 5000 (AWS's users per account)"),
    ],
)
def test_iam_user_limits_are_one_to_the_accounts_quota(name: str, attribute: str, default: int, message: str) -> None:
    assert getattr(from_env(CREDENTIALS), attribute) == default
    for allowed in (1, 5000):
        assert getattr(from_env({**CREDENTIALS, name: str(allowed)}), attribute) == allowed
    for wrong in ("0", "5001"):
        with pytest.raises(SettingsError) as caught:
            from_env({**CREDENTIALS, name: wrong})
        assert str(caught.value) == message
    with pytest.raises(SettingsError) as caught:
        from_env({**CREDENTIALS, name: "many"})
    assert str(caught.value) == f"{name} must be a whole number"


def test_deprovision_sync_max_objects_must_be_a_whole_number() -> None:
    with pytest.raises(SettingsError) as caught:
        from_env({**CREDENTIALS, "DEPROVISION_SYNC_MAX_OBJECTS": "many"})
    assert str(caught.value) == "DEPROVISION_SYNC_MAX_OBJECTS must be a whole number"


def test_settings_made_in_code_refuse_no_aws_read_timeout() -> None:
    # Tests and tools build Settings directly, past from_env's own check.
    with pytest.raises(SettingsError, match=r"^AWS_READ_TIMEOUT must be more than 0 and at most 6 seconds$"):
        Settings(broker_username="u", broker_password="p", aws_read_timeout=0)
