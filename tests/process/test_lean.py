"""What keeps the broker lean under gunicorn does not change what it answers or what it refuses.

(How much it saves is measured by `make bench`, never asserted here.)
"""

from __future__ import annotations

import subprocess
import sys

import botocore.session
import pytest
from openbrokerapi.helper import to_json_response
from openbrokerapi.response import CatalogResponse

from broker.aws.botocore_services import SERVICES, lean_session
from broker.model.catalog import load_catalog
from testing.harness import REPO, BrokerServer, OSBClient
from testing.processes import clean_env


def test_the_catalog_answer_is_what_openbrokerapi_would_encode(broker: BrokerServer, osb: OSBClient) -> None:
    catalog = load_catalog(broker.settings.catalog_path)
    with broker.app.app_context():
        expected = to_json_response(CatalogResponse(list(catalog.services)))
    answer = osb.catalog()
    assert answer.status_code == 200
    assert answer.content == expected.get_data()
    assert answer.headers["Content-Type"] == expected.headers["Content-Type"]


def test_the_catalog_is_checked_like_every_osb_request(osb: OSBClient) -> None:
    assert osb.request("GET", "/v2/catalog", auth=("cc", "wrong")).status_code == 401
    assert osb.request("GET", "/v2/catalog", headers={"X-Broker-API-Version": "2.12"}).status_code == 412
    identity = {"X-Broker-API-Originating-Identity": "cloudfoundry not-base64!"}
    assert osb.request("GET", "/v2/catalog", headers=identity).status_code == 400


@pytest.mark.parametrize("region", ["eu-west-2", "us-east-1", "cn-north-1", "us-gov-west-1", "eu-central-2"])
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_trimmed_endpoint_table_resolves_as_the_full_one(service: str, region: str) -> None:
    def endpoint(session: botocore.session.Session) -> str:
        client = session.create_client(
            service, region_name=region, aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret"
        )
        return str(client.meta.endpoint_url)

    assert endpoint(lean_session()) == endpoint(botocore.session.get_session())


def test_the_lean_loader_knows_only_the_brokers_services() -> None:
    session = lean_session()
    session.create_client("s3", region_name="eu-west-2", aws_access_key_id="a", aws_secret_access_key="b")
    endpoints, _ = session.get_component("data_loader").load_data_with_path("endpoints")
    listed = {name for partition in endpoints["partitions"] for name in partition["services"]}
    assert listed and listed <= SERVICES
    assert set(session.get_available_services()) == SERVICES


def test_pointed_at_aws_the_gunicorn_master_loads_neither_boto3_nor_moto() -> None:
    env = clean_env(
        VCAP_APPLICATION="{}",
        BROKER_USERNAME="cc",
        BROKER_PASSWORD="pw",
        AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY="secret",
        AWS_REGION="eu-west-2",
        IAM_PERMISSIONS_BOUNDARY_ARN="arn:aws:iam::123456789012:policy/boundary",
    )
    command = (
        "import os, sys; import broker.server.gunicorn_config as config; "
        "from broker.server.startup import prepare_environment; prepare_environment(os.environ); "
        "print(sorted(m for m in ('boto3', 'botocore', 'moto', 'urllib3') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", command], cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
