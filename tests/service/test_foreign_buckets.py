"""A bucket the broker did not make is never configured, taken over or deleted, whatever its name.

An operator's bucket may happen to carry the broker's prefix (`cf-s3-...`): with none of the
broker's marks (its `s3-broker:` tags), a provision of that id is a 409 and a deprovision a 410,
both naming the bucket, and the bucket is left exactly as it was.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from testing.harness import REGION, OSBClient, new_id


def operators_bucket(s3: Any, tags: list[dict[str, str]]) -> tuple[str, str]:
    instance_id = new_id()
    bucket = f"cf-s3-{instance_id}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    if tags:
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})
    return instance_id, bucket


def untouched(s3: Any, bucket: str, tags: list[dict[str, str]]) -> bool:
    s3.head_bucket(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_bucket_policy(Bucket=bucket)
    try:
        found = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    except ClientError:
        found = []
    return sorted(map(str, found)) == sorted(map(str, tags))


@pytest.mark.parametrize("tags", [[], [{"Key": "team", "Value": "ops"}]])
def test_a_bucket_without_the_brokers_marks_is_never_taken_over_or_deleted(
    osb: OSBClient, s3: Any, tags: list[dict[str, str]]
) -> None:
    instance_id, bucket = operators_bucket(s3, tags)
    provisioned = osb.provision(instance_id, parameters={"public_bucket": True})
    assert provisioned.status_code == 409, provisioned.text
    assert bucket in provisioned.json()["description"]
    assert untouched(s3, bucket, tags)
    deprovisioned = osb.deprovision(instance_id)
    assert deprovisioned.status_code == 410, deprovisioned.text
    assert bucket in deprovisioned.json()["description"]
    assert untouched(s3, bucket, tags)
    assert osb.update(instance_id, parameters={"public_bucket": True}).status_code == 404
    assert osb.bind(instance_id, new_id()).status_code == 404
    assert untouched(s3, bucket, tags)
