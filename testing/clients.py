"""The broker's credentials used as an app uses them: boto3 and the AWS CLI, and the IAM user behind a key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from testing.harness import OSBClient, new_id

APPS = Path(__file__).resolve().parent / "apps"
AWS_CLI = Path(sys.executable).with_name("aws")


def user_name(binding_id: str) -> str:
    return f"cf-s3-{binding_id}"


def s3_with(credentials: dict[str, Any]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=credentials["endpoint"],
        region_name=credentials["region"],
        aws_access_key_id=credentials["access_key_id"],
        aws_secret_access_key=credentials["secret_access_key"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def refused(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"]


def user_exists(iam: Any, binding_id: str) -> bool:
    try:
        iam.get_user(UserName=user_name(binding_id))
        return True
    except ClientError:
        return False


def bind(osb: OSBClient, instance_id: str, parameters: Any = None, **kwargs: Any) -> dict[str, Any]:
    response = osb.bind(instance_id, new_id(), parameters, **kwargs)
    assert response.status_code == 201, response.text
    return response.json()["credentials"]


def aws_cli(credentials: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": credentials["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": credentials["secret_access_key"],
        "AWS_DEFAULT_REGION": credentials["region"],
    }
    return subprocess.run(
        [str(AWS_CLI), "--endpoint-url", credentials["endpoint"], "s3", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
