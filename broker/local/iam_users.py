"""Where moto 5.2's IAM users differ from IAM's in what upgrades rely on, made to match.

- moto ignores CreateUser's PermissionsBoundary and does not implement PutUserPermissionsBoundary:
  here the user keeps its boundary and GetUser shows it, as IAM does. (moto still does not apply
  a user's boundary when it judges requests; the boundary document is tested as a document.)
- moto keeps a user's tags by its ARN, so moving the user to another path (UpdateUser NewPath)
  loses them; IAM keeps them. Here they move with the user.
"""

from __future__ import annotations

from typing import Any

from moto.iam import responses


def _boundary(arn: str) -> dict[str, str]:
    return {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}


def install() -> None:
    """Teach moto's IAM responses to keep users' boundaries, and their tags across a move (idempotent)."""
    if getattr(responses.IamResponse, "_s3_broker_user_boundaries", False):
        return
    create_user = responses.IamResponse.create_user

    def create_user_keeping_boundary(self: Any) -> Any:
        result = create_user(self)
        arn = self._get_param("PermissionsBoundary")
        if arn:
            self.backend.get_user(self._get_param("UserName")).permissions_boundary = _boundary(arn)
        return result

    def put_user_permissions_boundary(self: Any) -> Any:
        user = self.backend.get_user(self._get_param("UserName"))
        user.permissions_boundary = _boundary(self._get_param("PermissionsBoundary"))
        return responses.EmptyResult()

    update_user = responses.IamResponse.update_user

    def update_user_keeping_tags(self: Any) -> Any:
        user = self.backend.get_user(self._get_param("UserName"))
        old_arn, tags = user.arn, self.backend.tagger.list_tags_for_resource(user.arn)["Tags"]
        result = update_user(self)
        if user.arn != old_arn:
            self.backend.tagger.delete_all_tags_for_resource(old_arn)
            self.backend.tagger.tag_resource(user.arn, tags)
        return result

    responses.IamResponse.update_user = update_user_keeping_tags  # type: ignore[method-assign]
    responses.IamResponse.create_user = create_user_keeping_boundary  # type: ignore[method-assign]
    responses.IamResponse.put_user_permissions_boundary = put_user_permissions_boundary  # type: ignore[attr-defined]
    responses.IamResponse._s3_broker_user_boundaries = True  # type: ignore[attr-defined]
