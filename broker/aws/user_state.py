"""What an upgrade reads and changes of an existing binding user: its path, boundary and tags.

Its key and its name never change, so the app holding the key notices nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from broker.aws.errors import aws_errors, error_code


@dataclass(frozen=True)
class UserState:
    name: str
    arn: str
    path: str
    boundary_arn: str | None
    tags: dict[str, str]


def describe(iam: Any, user_name: str) -> UserState | None:
    """The user as IAM has it (GetUser, one call); None when there is no such user."""
    try:
        user = iam.get_user(UserName=user_name)["User"]
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            return None
        with aws_errors(f"read IAM user {user_name}"):
            raise
    boundary = (user.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    tags = {tag["Key"]: tag["Value"] for tag in user.get("Tags", [])}
    return UserState(user_name, user["Arn"], user["Path"], boundary, tags)


def set_boundary(iam: Any, user_name: str, boundary_arn: str) -> None:
    """Attach the broker's boundary (the broker policy allows this one boundary only)."""
    with aws_errors(f"set the permissions boundary of IAM user {user_name}"):
        iam.put_user_permissions_boundary(UserName=user_name, PermissionsBoundary=boundary_arn)


def move(iam: Any, user_name: str, path: str) -> None:
    """Move the user to another IAM path; its ARN changes, its key and policy stay."""
    with aws_errors(f"move IAM user {user_name} to path {path}"):
        iam.update_user(UserName=user_name, NewPath=path)


def tag(iam: Any, user_name: str, tags: dict[str, str]) -> None:
    """Add or overwrite these tags (the user's other tags stay)."""
    if not tags:
        return
    with aws_errors(f"tag IAM user {user_name}"):
        iam.tag_user(UserName=user_name, Tags=[{"Key": key, "Value": value} for key, value in tags.items()])
