"""The floor: the least AWS work each broker operation needs, made straight with boto3, one call after another.

The sequences make the calls the broker must make, its safety checks included (docs/aws-calls.md
lists them), with payloads of the same shape and size, signed by the broker's own IAM identity so
moto evaluates the same policy. Clients are made once; the new key's probe is signed by hand, as
a client per key is a cost the floor must not include.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import boto3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.httpsession import URLLib3Session

from bench.awscalls import AwsCallRecorder
from broker.model.records import provisioning_tags
from broker.policy import documents
from broker.settings import Settings
from testing.harness import ORG, SERVICE_ID, SPACE, Identity

USER_PATH = Settings.iam_user_path  # a binding user lives under USER_PATH + instance id + "/"
POLICY_NAME = "s3-bucket-access"
CONNECTIONS = 64  # as many as the concurrency section has threads


def bucket_tags(instance_id: str, plan_id: str) -> list[dict[str, str]]:
    """The tags the broker puts on a private bucket made with no parameters and no names."""
    tags = {
        "s3-broker:instance-id": instance_id,
        "s3-broker:service-id": SERVICE_ID,
        "s3-broker:plan-id": plan_id,
        "s3-broker:org-guid": ORG,
        "s3-broker:space-guid": SPACE,
        "s3-broker:options": "tls=on ownership=BucketOwnerEnforced public=off versioning=off delete-objects=off",
    }
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def public_read_policy(bucket: str) -> str:
    """The public bucket's policy as the broker writes it on the local backend (no TLS-only Deny on plain HTTP)."""
    return json.dumps(documents.bucket_policy(bucket, public=True, tls_only=False))


def read_write_policy(bucket: str, own_account: str) -> str:
    """A binding's inline policy as the broker writes it: the broker's own policy module, read-write, one bucket."""
    return documents.minified(documents.user_policy([bucket], read_only=False, own_account=own_account))


class KeyProbe:
    """ListObjectsV2 signed with a new binding key on a shared connection pool: no client per key."""

    def __init__(self, endpoint: str, region: str, recorder: AwsCallRecorder) -> None:
        self.endpoint = endpoint
        self.region = region
        self.recorder = recorder
        self.http = URLLib3Session(max_pool_connections=CONNECTIONS)

    def list_one(self, bucket: str, key: Identity) -> None:
        query = urlencode({"list-type": "2", "max-keys": "1", "prefix": ""})
        request = AWSRequest(method="GET", url=f"{self.endpoint}/{bucket}?{query}")
        S3SigV4Auth(Credentials(key.access_key_id, key.secret_access_key), "s3", self.region).add_auth(request)
        response = self.http.send(request.prepare())
        outcome = "ok" if response.status_code == 200 else f"HTTP {response.status_code}"
        self.recorder.record("s3", "ListObjectsV2", key.access_key_id, outcome)
        if response.status_code != 200:
            raise RuntimeError(f"the floor's probe of a new key failed: {response.status_code} {response.content!r}")


class Floor:
    """The floor sequence of each broker operation, on clients made once."""

    def __init__(self, endpoint: str, region: str, identity: Identity, permissions_boundary_arn: str) -> None:
        self.region = region
        self.identity = identity
        self.permissions_boundary_arn = permissions_boundary_arn
        self.recorder = AwsCallRecorder()
        session = boto3.session.Session(
            aws_access_key_id=identity.access_key_id,
            aws_secret_access_key=identity.secret_access_key,
            region_name=region,
        )
        self.recorder.attach(session.events)
        config = Config(retries={"max_attempts": 1}, max_pool_connections=CONNECTIONS, s3={"addressing_style": "path"})
        self.s3: Any = session.client("s3", endpoint_url=endpoint, config=config)
        self.iam: Any = session.client("iam", endpoint_url=endpoint, config=config)
        self.probe = KeyProbe(endpoint, region, self.recorder)
        # Read once here, as the broker reads it once per worker: not part of any operation.
        sts = session.client("sts", endpoint_url=endpoint, config=config)
        self.own_account: str = sts.get_caller_identity()["Account"]

    # --- instances ---------------------------------------------------------------------------

    def read_tags(self, bucket: str) -> list[dict[str, str]] | None:
        try:
            return self.s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "NoSuchBucket":
                return None
            raise

    def read_cors(self, bucket: str) -> None:
        """The broker reads a bucket's CORS rules whenever it reads the instance: a key may have set some."""
        try:
            self.s3.get_bucket_cors(Bucket=bucket)
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchCORSConfiguration":
                raise

    def users_under(self, instance_id: str) -> None:
        """ListUsers under the instance's path: the binding limit's count, the sweep for users left."""
        self.iam.list_users(PathPrefix=f"{USER_PATH}{instance_id}/")

    def provision(self, instance_id: str, plan_id: str, *, public: bool) -> None:
        bucket = f"cf-s3-{instance_id}"
        # Outside us-east-1 CreateBucket itself says if the bucket is there already: no read first.
        self.s3.create_bucket(
            Bucket=bucket,
            ObjectOwnership="BucketOwnerEnforced",
            CreateBucketConfiguration={"LocationConstraint": self.region},
        )
        # The mark says which provision configures the bucket, so a concurrent one waits instead of taking over.
        self.s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": provisioning_tags("0" * 64, 0.0)})
        access_block = documents.public_access_block(public)
        self.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=access_block)
        if public:
            self.s3.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))
        self.s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
        self.s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": bucket_tags(instance_id, plan_id)})

    def get_instance(self, instance_id: str) -> None:
        self.read_tags(f"cf-s3-{instance_id}")
        self.read_cors(f"cf-s3-{instance_id}")

    def enable_versioning(self, instance_id: str, plan_id: str) -> None:
        bucket = f"cf-s3-{instance_id}"
        self.get_instance(instance_id)
        self.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        self.read_tags(bucket)  # a deletion begun meanwhile: the tags written next would drop its mark
        self.s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": bucket_tags(instance_id, plan_id)})

    def deprovision(self, instance_id: str) -> None:
        bucket = f"cf-s3-{instance_id}"
        self.read_tags(bucket)
        self.s3.delete_bucket(Bucket=bucket)  # S3 refuses a bucket that holds anything: the deletion guard
        self.users_under(instance_id)  # binding users left behind go with the bucket

    # --- bindings ----------------------------------------------------------------------------

    def bind(self, instance_id: str, binding_id: str) -> None:
        bucket = f"cf-s3-{instance_id}"
        user = f"cf-s3-{binding_id}"
        self.read_tags(bucket)  # the instance must exist; its tags name a KMS key the policy must allow
        self.iam.create_user(
            UserName=user,
            Path=f"{USER_PATH}{instance_id}/",
            PermissionsBoundary=self.permissions_boundary_arn,
            Tags=[
                {"Key": "s3-broker:instance-id", "Value": instance_id},
                {"Key": "s3-broker:binding-id", "Value": binding_id},
                {"Key": "s3-broker:binding-digest", "Value": "0" * 64},
            ],
        )
        self.users_under(instance_id)  # MAX_BINDINGS_PER_INSTANCE
        self.iam.put_user_policy(
            UserName=user, PolicyName=POLICY_NAME, PolicyDocument=read_write_policy(bucket, self.own_account)
        )
        key = self.iam.create_access_key(UserName=user)["AccessKey"]
        self.probe.list_one(bucket, Identity(key["AccessKeyId"], key["SecretAccessKey"]))
        self.read_tags(bucket)  # a deprovision begun meanwhile: the key must not outlive the bucket

    def unbind(self, binding_id: str) -> None:
        user = f"cf-s3-{binding_id}"
        self.iam.get_user(UserName=user)  # the binding belongs to the instance the request names
        for key in self.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
            self.iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
        self.iam.delete_user_policy(UserName=user, PolicyName=POLICY_NAME)
        self.iam.delete_user(UserName=user)
