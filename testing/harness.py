"""What tests and benchmarks share: the broker's local AWS (moto behind its gate for public reads
and presigned URLs, as `make run` serves it) in a process with IAM enforcement, the broker on
loopback, and an OSB client that speaks to it as the Cloud Controller does. The local AWS serves two
accounts: the platform's and EXTERNAL_ACCOUNT, with an administrator of its own (Backend.other_owner)."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.config import Config
from werkzeug.serving import make_server

from broker.http.app import create_app
from broker.local import backend
from broker.policy import account_policies
from broker.settings import Settings
from testing.local_aws import MotoProcess as MotoProcess  # re-exported: tests import it from here
from testing.local_aws import free_port as free_port

REGION = "eu-west-2"  # outside us-east-1, so CreateBucket needs its LocationConstraint
REPO = Path(__file__).resolve().parent.parent
SERVICE_ID = "2b7a1f4e-6c1d-4a8e-9f3b-5d2c8e0a7b61"
BASIC = "8f1e3c2a-4b5d-4e6f-8a7b-9c0d1e2f3a41"
BASIC_PUBLIC = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c52"
ORG = "0c6a3e59-1b8f-4bd4-9a07-1b0f8c2a6d11"
SPACE = "7e1d2c3b-4a59-4687-9f0e-1d2c3b4a5968"
ADMIN_USER = "test-admin"
ACCOUNT_HEADER = "X-Moto-Account-Id"  # the local gate drops it while it enforces: a key's account is its own
# The one customer KMS key the tests' broker allows (moto does not check that it exists).
ALLOWED_KMS_KEY = "arn:aws:kms:eu-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# The other AWS account the tests' platform lets keys reach with external_buckets (ALLOWED_EXTERNAL_ACCOUNT_IDS);
# the local backend serves it beside the platform's, with an administrator of its own (Backend.other_owner).
EXTERNAL_ACCOUNT = "444455556666"
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Identity:
    access_key_id: str
    secret_access_key: str = field(repr=False)


def make_user(endpoint: str, name: str, policy: dict[str, Any], account: str | None = None) -> Identity:
    """An IAM user with one inline policy and a key, in the platform's account or `account` (call while
    enforcement is off: moto then acts in the account its X-Moto-Account-Id header names)."""
    iam = boto3.client(
        "iam", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    if account:
        iam.meta.events.register("before-send", lambda request, **_: request.headers.update({ACCOUNT_HEADER: account}))
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Identity(key["AccessKeyId"], key["SecretAccessKey"])


def base_settings() -> Settings:
    return Settings(
        broker_username="cc",
        broker_password="s3cr3t-broker-password",
        aws_region=REGION,
        allowed_external_accounts=((EXTERNAL_ACCOUNT, None),),  # so the boundary made at start allows it
    )


@dataclass
class Backend:
    """A moto server with IAM enforcement on, the broker's own IAM user, an admin to inspect state, and
    the owner (an administrator) of another account, EXTERNAL_ACCOUNT."""

    moto: MotoProcess
    broker: Identity
    admin: Identity
    permissions_boundary_arn: str
    other_owner: Identity

    @classmethod
    def start(cls) -> Backend:
        moto = MotoProcess().start()
        made = backend.create_broker_identity(moto.endpoint, base_settings())
        broker = Identity(made.access_key_id, made.secret_access_key)
        admin = make_user(moto.endpoint, ADMIN_USER, ALLOW_ALL)
        other_owner = make_user(moto.endpoint, ADMIN_USER, ALLOW_ALL, account=EXTERNAL_ACCOUNT)
        backend.set_enforcement(moto.endpoint, enforce=True)
        return cls(moto, broker, admin, made.permissions_boundary_arn, other_owner)

    def restricted_broker(self, name: str, drop_actions: set[str]) -> Identity:
        """Another broker identity whose policy lacks some actions, to make an operation fail part-way."""
        backend.set_enforcement(self.moto.endpoint, enforce=False)
        try:
            facts = backend.local_facts(self.moto.endpoint, base_settings())
            policy = account_policies.broker_policy(facts)
            for statement in policy["Statement"]:
                statement["Action"] = [a for a in statement["Action"] if a not in drop_actions]
            return make_user(self.moto.endpoint, name, policy)
        finally:
            backend.set_enforcement(self.moto.endpoint, enforce=True)

    def client(
        self,
        service: str,
        identity: Identity | None = None,
        *,
        source_ip: str = "",
        source_vpce: str = "",
        tls: bool = False,
    ) -> Any:
        """A client of the local AWS; `source_ip` / `source_vpce` say where its requests come from
        (headers only the tests' gate honours: every request really comes from 127.0.0.1); `tls`
        over HTTPS."""
        identity = identity or self.admin
        client = boto3.client(
            service,
            endpoint_url=self.moto.https_endpoint if tls else self.moto.endpoint,
            verify=self.moto.ca_bundle if tls else None,
            region_name=REGION,
            aws_access_key_id=identity.access_key_id,
            aws_secret_access_key=identity.secret_access_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )
        extra = {"X-Local-Source-Ip": source_ip, "X-Local-Source-Vpce": source_vpce}
        if source_ip or source_vpce:

            def add_headers(request: Any, **_: Any) -> None:
                for name, value in extra.items():
                    if value:
                        request.headers[name] = value

            client.meta.events.register("before-send", add_headers)
        return client

    def settings(self, identity: Identity | None = None, **overrides: Any) -> Settings:
        identity = identity or self.broker
        settings = replace(
            base_settings(),
            aws_endpoint_url=self.moto.endpoint,
            aws_access_key_id=identity.access_key_id,
            aws_secret_access_key=identity.secret_access_key,
            iam_permissions_boundary_arn=self.permissions_boundary_arn,
            allowed_kms_key_arns=(ALLOWED_KMS_KEY,),
            key_propagation_timeout=5.0,
            # A throttled call is still retried, after a few milliseconds rather than up to seconds.
            aws_retry_max_backoff=0.05,
        )
        return replace(settings, **overrides)


class BrokerServer:
    """create_app(settings) served on loopback by a threaded WSGI server in this process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> BrokerServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()

    def osb(self) -> OSBClient:
        return OSBClient(self.url, (self.settings.broker_username, self.settings.broker_password))


class OSBClient:
    """Speaks OSB 2.17 directly; what the Cloud Controller sends is the cf stand-in's (testing/cloud_controller.py)."""

    def __init__(self, url: str, auth: tuple[str, str]) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.auth = auth
        identity = base64.b64encode(json.dumps({"user_id": "test-user"}).encode()).decode()
        self.session.headers.update(
            {"X-Broker-API-Version": "2.17", "X-Broker-API-Originating-Identity": f"cloudfoundry {identity}"}
        )

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.url + path, timeout=60, **kwargs)

    def catalog(self) -> requests.Response:
        return self.request("GET", "/v2/catalog")

    def provision(
        self, instance_id: str, plan_id: str = BASIC, parameters: Any = None, **body: Any
    ) -> requests.Response:
        payload: dict[str, Any] = {
            "service_id": SERVICE_ID,
            "plan_id": plan_id,
            "organization_guid": ORG,
            "space_guid": SPACE,
            "context": {"platform": "cloudfoundry", "organization_guid": ORG, "space_guid": SPACE},
            **body,
        }
        if parameters is not None:
            payload["parameters"] = parameters
        return self.request("PUT", f"/v2/service_instances/{instance_id}", json=payload)

    def update(
        self, instance_id: str, plan_id: str | None = None, parameters: Any = None, **body: Any
    ) -> requests.Response:
        payload: dict[str, Any] = {"service_id": SERVICE_ID, **body}
        if plan_id:
            payload["plan_id"] = plan_id
        if parameters is not None:
            payload["parameters"] = parameters
        return self.request("PATCH", f"/v2/service_instances/{instance_id}", json=payload)

    def deprovision(self, instance_id: str, plan_id: str = BASIC) -> requests.Response:
        return self.request(
            "DELETE", f"/v2/service_instances/{instance_id}", params={"service_id": SERVICE_ID, "plan_id": plan_id}
        )

    def get_instance(self, instance_id: str) -> requests.Response:
        return self.request("GET", f"/v2/service_instances/{instance_id}")

    def bind(
        self, instance_id: str, binding_id: str, parameters: Any = None, *, app_guid: str | None = "app", **body: Any
    ) -> requests.Response:
        payload: dict[str, Any] = {
            "service_id": SERVICE_ID,
            "plan_id": BASIC,
            "context": {"platform": "cloudfoundry", "organization_guid": ORG, "space_guid": SPACE},
            **body,
        }
        if app_guid:
            payload["app_guid"] = app_guid
            payload["bind_resource"] = {"app_guid": app_guid}
        if parameters is not None:
            payload["parameters"] = parameters
        return self.request("PUT", f"/v2/service_instances/{instance_id}/service_bindings/{binding_id}", json=payload)

    def unbind(self, instance_id: str, binding_id: str) -> requests.Response:
        return self.request(
            "DELETE",
            f"/v2/service_instances/{instance_id}/service_bindings/{binding_id}",
            params={"service_id": SERVICE_ID, "plan_id": BASIC},
        )
