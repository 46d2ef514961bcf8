"""BUCKET_NAMESPACE=account-regional: bucket names only the broker's account can create.

S3 bucket names are global: after a deprovision another account may create a bucket of the same
name (bucket sniping). Names of S3's account-regional namespace end in -ACCOUNT-REGION-an and
only that account can create them; the local S3 refuses such a name from another account's
CreateBucket or without the namespace header, as S3 does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from broker import bucket_names
from broker.setting_values import SettingsError
from broker.settings import from_env
from testing.clients import s3_with
from testing.harness import REGION, Backend, BrokerServer, new_id

ACCOUNT = "123456789012"  # the local backend's account, learned by the broker from STS


def test_names_are_one_per_id_and_fit_s3s_limit_in_every_region() -> None:
    guid = "6f1c2a8e-0b7d-4c1e-9a3f-2d5e8b7c4a10"
    name = bucket_names.bucket_name("cf-s3-", guid, bucket_names.ACCOUNT_REGIONAL, ACCOUNT, "ap-southeast-2")
    assert name == f"cf-s3-{bucket_names.compact_id(guid)}-{ACCOUNT}-ap-southeast-2-an" and len(name) == 63
    assert len(bucket_names.compact_id(guid)) == 26 and bucket_names.compact_id(guid).isalnum()
    assert bucket_names.compact_id(guid) != bucket_names.compact_id(new_id())
    assert bucket_names.in_account_regional_namespace(name)
    assert not bucket_names.in_account_regional_namespace(f"cf-s3-{guid}")
    with pytest.raises(SettingsError, match=r"BUCKET_PREFIX .* too long for BUCKET_NAMESPACE=account-regional"):
        from_env(
            {
                "BROKER_USERNAME": "u",
                "BROKER_PASSWORD": "p",
                "BUCKET_NAMESPACE": "account-regional",
                "AWS_REGION": "ap-southeast-2",
                "BUCKET_PREFIX": "cf-s3-team-",
            }
        )
    with pytest.raises(SettingsError, match="BUCKET_NAMESPACE must be global or account-regional"):
        from_env({"BROKER_USERNAME": "u", "BROKER_PASSWORD": "p", "BUCKET_NAMESPACE": "regional"})


@pytest.fixture(scope="module")
def own_backend() -> Iterator[Backend]:
    """A local AWS of its own: the shared one holds global-namespace buckets of the same prefix, with
    which a broker in the account-regional namespace refuses to start (see the last test)."""
    started = Backend.start()
    yield started
    started.moto.stop()


@pytest.fixture
def s3(own_backend: Backend) -> Any:
    return own_backend.client("s3")


def test_an_instance_lives_in_the_account_regional_namespace(own_backend: Backend, s3: Any) -> None:
    settings = own_backend.settings(bucket_namespace=bucket_names.ACCOUNT_REGIONAL)
    instance_id = new_id()
    name = f"cf-s3-{bucket_names.compact_id(instance_id)}-{ACCOUNT}-{REGION}-an"
    with BrokerServer(settings) as server:
        osb = server.osb()
        assert osb.provision(instance_id).status_code == 201
        s3.head_bucket(Bucket=name)
        response = osb.bind(instance_id, new_id())
        assert response.status_code == 201, response.text
        credentials = response.json()["credentials"]
        assert credentials["bucket"] == name
        s3_with(credentials).put_object(Bucket=name, Key="k", Body=b"x")
        s3.delete_object(Bucket=name, Key="k")
        assert osb.deprovision(instance_id).status_code == 200
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=name)
    # The namespace is S3's own: no account may create a name with another account's suffix.
    with pytest.raises(ClientError, match="InvalidNamespaceHeader"):
        s3.create_bucket(
            Bucket=f"cf-s3-{bucket_names.compact_id(new_id())}-999999999999-{REGION}-an",
            CreateBucketConfiguration={"LocationConstraint": REGION},
            BucketNamespace="account-regional",
        )


def test_the_namespace_cannot_change_while_instances_are_in_place(own_backend: Backend) -> None:
    regional = own_backend.settings(bucket_namespace=bucket_names.ACCOUNT_REGIONAL)
    instance_id = new_id()
    with BrokerServer(regional) as server:
        assert server.osb().provision(instance_id).status_code == 201
    with pytest.raises(SettingsError, match=r"BUCKET_NAMESPACE=global.*other namespace"):
        BrokerServer(replace(regional, bucket_namespace=bucket_names.GLOBAL))
    with BrokerServer(regional) as server:  # as chosen: it starts, and the instance is found
        assert server.osb().get_instance(instance_id).status_code == 200
        assert server.osb().deprovision(instance_id).status_code == 200
    with BrokerServer(replace(regional, bucket_namespace=bucket_names.GLOBAL)) as server:  # none left: any choice
        assert server.osb().catalog().status_code == 200
