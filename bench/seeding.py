"""Existing instances and bindings, made fast, straight in moto with the admin identity (not through the broker).

They carry the broker's names (bucket and IAM user `cf-s3-<guid>`, users under `/cf-s3-broker/`),
so anything that listed or scanned the broker's resources would meet them. A binding is a user
with its access key: the key is what moto scans on every signed request. Buckets get no tags and
users no policy: nothing the broker does reads another instance's tags or another user's policy.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from bench.stats import timed
from broker.local import backend
from testing.harness import REGION, Backend, new_id

SEED_THREADS = 8


@dataclass(frozen=True)
class SeedTiming:
    """How long making `count` instances and as many bindings took, with IAM enforcement on or off."""

    count: int
    enforcement: str
    seconds: float
    per_second: float


class Seeder:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        config = Config(retries={"max_attempts": 3}, max_pool_connections=SEED_THREADS, s3={"addressing_style": "path"})
        session = boto3.session.Session(
            aws_access_key_id=backend.admin.access_key_id,
            aws_secret_access_key=backend.admin.secret_access_key,
            region_name=REGION,
        )
        self.s3: Any = session.client("s3", endpoint_url=backend.moto.endpoint, config=config)
        self.iam: Any = session.client("iam", endpoint_url=backend.moto.endpoint, config=config)
        self.made = 0

    def add_instance_and_binding(self) -> None:
        guid = new_id()
        self.s3.create_bucket(Bucket=f"cf-s3-{guid}", CreateBucketConfiguration={"LocationConstraint": REGION})
        user = f"cf-s3-{new_id()}"
        self.iam.create_user(
            UserName=user, Path="/cf-s3-broker/", Tags=[{"Key": "s3-broker:instance-id", "Value": guid}]
        )
        self.iam.create_access_key(UserName=user)

    def add(self, count: int, *, enforced: bool) -> SeedTiming:
        """Make `count` more of each; switch enforcement as asked, and always leave it on."""
        if count <= 0:
            return SeedTiming(0, "on" if enforced else "off", 0.0, 0.0)
        backend.set_enforcement(self.backend.moto.endpoint, enforce=enforced)
        try:
            seconds, _ = timed(lambda: self._in_threads(count))
        finally:
            backend.set_enforcement(self.backend.moto.endpoint, enforce=True)
        self.made += count
        return SeedTiming(count, "on" if enforced else "off", round(seconds, 2), round(count / seconds, 1))

    def _in_threads(self, count: int) -> None:
        with ThreadPoolExecutor(max_workers=SEED_THREADS) as pool:
            for future in [pool.submit(self.add_instance_and_binding) for _ in range(count)]:
                future.result()
