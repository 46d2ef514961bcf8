"""The walls of a binding's key, run: the local gate judges their conditions as AWS does.

Where a request comes from is said with a header only the tests' gate honours (every request
really comes from 127.0.0.1); the time with the gate's clock, moved through its admin API.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest

from broker.local import backend as local
from testing.clients import bind, refused
from testing.harness import Backend, BrokerServer, Identity, OSBClient, new_id

INSIDE, OUTSIDE = "192.0.2.7", "198.51.100.1"
VPCES = ("vpce-0a1b2c3d4e5f60718", "vpce-1a2b3c4d")


def key(credentials: dict[str, Any]) -> Identity:
    return Identity(credentials["access_key_id"], credentials["secret_access_key"])


@pytest.fixture
def limited(backend: Backend) -> Iterator[OSBClient]:
    """A broker whose keys work only from 127.0.0.0/8 and 192.0.2.0/24, or through two VPC endpoints."""
    settings = backend.settings(allowed_source_cidrs=("127.0.0.0/8", "192.0.2.0/24"), allowed_vpc_endpoint_ids=VPCES)
    with BrokerServer(settings) as server:
        yield server.osb()


def provisioned(osb: OSBClient, s3: Any) -> str:
    instance_id = new_id()
    assert osb.provision(instance_id).status_code == 201
    bucket = f"cf-s3-{instance_id}"
    s3.put_object(Bucket=bucket, Key="in/k", Body=b"hello")
    return instance_id


def test_a_key_limited_to_the_platform_works_from_it_and_is_refused_from_outside(
    backend: Backend, limited: OSBClient, s3: Any
) -> None:
    instance_id = provisioned(limited, s3)
    bucket, credentials = f"cf-s3-{instance_id}", bind(limited, instance_id)
    from_loopback = backend.client("s3", key(credentials))
    assert from_loopback.get_object(Bucket=bucket, Key="in/k")["Body"].read() == b"hello"
    from_range = backend.client("s3", key(credentials), source_ip=INSIDE)
    from_range.put_object(Bucket=bucket, Key="in/new", Body=b"x")
    outside = backend.client("s3", key(credentials), source_ip=OUTSIDE)
    assert refused(outside.get_object, Bucket=bucket, Key="in/k") == "AccessDenied"
    assert refused(outside.put_object, Bucket=bucket, Key="in/x", Body=b"x") == "AccessDenied"
    assert refused(outside.list_objects_v2, Bucket=bucket) == "AccessDenied"


def test_vpc_endpoints_of_the_platform_let_requests_through_and_others_do_not(
    backend: Backend, limited: OSBClient, s3: Any
) -> None:
    instance_id = provisioned(limited, s3)
    bucket, credentials = f"cf-s3-{instance_id}", bind(limited, instance_id)
    for endpoint in VPCES:
        through = backend.client("s3", key(credentials), source_vpce=endpoint)
        assert through.get_object(Bucket=bucket, Key="in/k")["Body"].read() == b"hello"
    someone_elses = backend.client("s3", key(credentials), source_vpce="vpce-99999999")
    assert refused(someone_elses.get_object, Bucket=bucket, Key="in/k") == "AccessDenied"


def test_allow_external_access_works_from_anywhere(backend: Backend, limited: OSBClient, s3: Any) -> None:
    instance_id = provisioned(limited, s3)
    bucket = f"cf-s3-{instance_id}"
    credentials = bind(limited, instance_id, {"allow_external_access": True})
    for where in ({"source_ip": OUTSIDE}, {"source_vpce": "vpce-99999999"}, {}):
        client = backend.client("s3", key(credentials), **where)
        assert client.get_object(Bucket=bucket, Key="in/k")["Body"].read() == b"hello"


def test_an_expiring_key_works_until_its_time_and_is_refused_after(
    backend: Backend, osb: OSBClient, instance: str, s3: Any
) -> None:
    bucket = f"cf-s3-{instance}"
    s3.put_object(Bucket=bucket, Key="k", Body=b"hello")
    credentials = bind(osb, instance, {"expires_in_days": 1})
    client = backend.client("s3", key(credentials))
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"hello"
    now = datetime.datetime.now(datetime.UTC)
    try:
        local.set_clock(backend.moto.endpoint, now + datetime.timedelta(hours=23))
        assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"hello"
        local.set_clock(backend.moto.endpoint, now + datetime.timedelta(days=1, minutes=1))
        assert refused(client.get_object, Bucket=bucket, Key="k") == "AccessDenied"
        assert refused(client.put_object, Bucket=bucket, Key="k2", Body=b"x") == "AccessDenied"
    finally:
        local.set_clock(backend.moto.endpoint, None)
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"hello"


def test_a_prefix_key_lists_and_reads_only_under_its_prefix(backend: Backend, limited: OSBClient, s3: Any) -> None:
    instance_id = provisioned(limited, s3)
    bucket = f"cf-s3-{instance_id}"
    s3.put_object(Bucket=bucket, Key="out/k", Body=b"secret")
    credentials = bind(limited, instance_id, {"permissions": "read-only", "path_prefix": "in/"})
    client = backend.client("s3", key(credentials))
    listed = client.list_objects_v2(Bucket=bucket, Prefix="in/")
    assert [item["Key"] for item in listed["Contents"]] == ["in/k"]
    assert refused(client.list_objects_v2, Bucket=bucket) == "AccessDenied"  # s3:prefix is "" then
    assert refused(client.list_objects_v2, Bucket=bucket, Prefix="out/") == "AccessDenied"
    assert refused(client.get_object, Bucket=bucket, Key="out/k") == "AccessDenied"
    assert refused(client.put_object, Bucket=bucket, Key="in/x", Body=b"x") == "AccessDenied"
    outside = backend.client("s3", key(credentials), source_ip=OUTSIDE)
    assert refused(outside.list_objects_v2, Bucket=bucket, Prefix="in/") == "AccessDenied"


def test_a_write_only_key_uploads_and_cannot_read_with_the_conditions_in_force(
    backend: Backend, limited: OSBClient, s3: Any
) -> None:
    instance_id = provisioned(limited, s3)
    bucket = f"cf-s3-{instance_id}"
    credentials = bind(limited, instance_id, {"permissions": "write-only", "expires_in_days": 1})
    client = backend.client("s3", key(credentials))
    client.put_object(Bucket=bucket, Key="in/up", Body=b"x")
    assert refused(client.get_object, Bucket=bucket, Key="in/up") == "AccessDenied"
    assert refused(client.list_objects_v2, Bucket=bucket) == "AccessDenied"
    assert refused(client.delete_object, Bucket=bucket, Key="in/up") == "AccessDenied"
    outside = backend.client("s3", key(credentials), source_ip=OUTSIDE)
    assert refused(outside.put_object, Bucket=bucket, Key="in/up2", Body=b"x") == "AccessDenied"
