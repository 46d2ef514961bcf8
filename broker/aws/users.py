"""A binding's IAM user: create it with its policy and key, wait until AWS accepts the key, delete it."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import urllib3
from botocore.exceptions import ClientError

from broker.aws.clients import run_concurrently
from broker.aws.errors import aws_errors, error_code
from broker.aws.probe import KeyProbe
from broker.errors import NotFound, UpstreamError, UpstreamUnavailable
from broker.model.access_keys import AccessKey, KeyInfo

log = logging.getLogger(__name__)

POLICY_NAME = "s3-bucket-access"
NO_SUCH_ENTITY = "NoSuchEntity"
# Codes a fresh key gets until AWS has spread it to every endpoint (and its policy with it).
NOT_YET_ACCEPTED = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidClientTokenId"}
FIRST_PROBE_DELAY = 0.05
MAX_PROBE_DELAY = 2.0
# Every so many refused probes, ask IAM whether the key still exists (an unbind may have won).
KEY_CHECK_EVERY = 3


class UserExists(Exception):
    """CreateUser found the user already there (a repeated or conflicting bind)."""


class KeyLimitReached(Exception):
    """The user holds as many access keys as IAM allows."""


class Users:
    def __init__(self, iam: Any, probe: KeyProbe, permissions_boundary_arn: str | None, pool: Executor) -> None:
        self.iam = iam
        self.probe = probe
        self.permissions_boundary_arn = permissions_boundary_arn
        self.pool = pool

    def create(self, user_name: str, path: str, tags: dict[str, str]) -> str:
        """Create the user under `path` with its tags and the boundary; return its ARN.

        Raise UserExists if it is already there.
        """
        arguments: dict[str, Any] = {
            "UserName": user_name,
            "Path": path,
            "Tags": [{"Key": key, "Value": value} for key, value in tags.items()],
        }
        if self.permissions_boundary_arn:
            arguments["PermissionsBoundary"] = self.permissions_boundary_arn
        try:
            return self.iam.create_user(**arguments)["User"]["Arn"]
        except ClientError as error:
            if error_code(error) == "EntityAlreadyExists":
                raise UserExists(user_name) from error
            with aws_errors(f"create IAM user {user_name}"):
                raise

    def read(self, user_name: str) -> tuple[str, dict[str, str]]:
        """The ARN and tags of an existing user."""
        try:
            user = self.iam.get_user(UserName=user_name)["User"]
        except ClientError as error:
            if error_code(error) == NO_SUCH_ENTITY:
                raise NotFound(f"There is no IAM user {user_name}.") from error
            with aws_errors(f"read IAM user {user_name}"):
                raise
        return user["Arn"], {tag["Key"]: tag["Value"] for tag in user.get("Tags", [])}

    def put_policy(self, user_name: str, document: dict[str, Any]) -> None:
        try:
            self.iam.put_user_policy(UserName=user_name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(document))
        except ClientError as error:
            if error_code(error) == NO_SUCH_ENTITY:
                raise NotFound(f"There is no IAM user {user_name}.") from error
            with aws_errors(f"set the policy of IAM user {user_name}"):
                raise

    def new_key(self, user_name: str) -> AccessKey:
        try:
            key = self.iam.create_access_key(UserName=user_name)["AccessKey"]
        except ClientError as error:
            if error_code(error) == NO_SUCH_ENTITY:
                raise NotFound(f"There is no IAM user {user_name}.") from error
            if error_code(error) == "LimitExceeded":
                raise KeyLimitReached(user_name) from error
            with aws_errors(f"create an access key for IAM user {user_name}"):
                raise
        return AccessKey(key["AccessKeyId"], key["SecretAccessKey"])

    def keys(self, user_name: str) -> list[KeyInfo]:
        """The user's access keys; NotFound when there is no such user."""
        try:
            listed = self.iam.list_access_keys(UserName=user_name)["AccessKeyMetadata"]
        except ClientError as error:
            if error_code(error) == NO_SUCH_ENTITY:
                raise NotFound(f"There is no IAM user {user_name}.") from error
            with aws_errors(f"list the access keys of IAM user {user_name}"):
                raise
        return [KeyInfo(key["AccessKeyId"], key["CreateDate"]) for key in listed]

    def delete_key(self, user_name: str, key_id: str) -> None:
        self._delete_key(user_name, key_id)

    def names_under(self, path: str) -> list[str]:
        """The names of the users under an IAM path (one call per 1,000 users)."""
        with aws_errors(f"list the IAM users under {path}"):
            pages = self.iam.get_paginator("list_users").paginate(PathPrefix=path)
            return [user["UserName"] for page in pages for user in page["Users"] if user["Path"] == path]

    def count_under(self, path: str) -> int:
        """How many users there are under an IAM path (one call per 1,000 users)."""
        return len(self.names_under(path))

    def account_summary(self) -> tuple[int, int | None]:
        """The account's IAM users, all of them, and its quota of users (None if IAM does not say)."""
        with aws_errors("count the account's IAM users"):
            summary = self.iam.get_account_summary()["SummaryMap"]
        return summary["Users"], summary.get("UsersQuota")

    def wait_until_key_works(
        self,
        key: AccessKey,
        bucket: str,
        prefix: str,
        timeout: float,
        *,
        denial_expected: bool,
        user_name: str | None = None,
    ) -> int:
        """Probe with the key itself until AWS accepts it, backing off, for at most `timeout` seconds.

        Returns the number of probes made. A key whose policy denies requests from outside the
        platform's addresses may be refused here for that reason alone: then an AccessDenied
        shows AWS knows the key, which is all the probe can learn.
        """
        deadline = time.monotonic() + timeout
        delay = FIRST_PROBE_DELAY
        probes = 0
        while True:
            probes += 1
            try:
                code = self.probe.refusal(key.access_key_id, key.secret_access_key, bucket, prefix)
                if code is None or (code == "AccessDenied" and denial_expected):
                    return probes
                if code == "NoSuchBucket":
                    raise NotFound(f"There is no bucket {bucket}.")
                if code not in NOT_YET_ACCEPTED:
                    raise UpstreamError(f"AWS refused the new access key on bucket {bucket} ({code}).")
                if user_name and probes % KEY_CHECK_EVERY == 0 and not self._has_key(user_name, key.access_key_id):
                    raise NotFound(f"The new access key of IAM user {user_name} was deleted meanwhile.")
            except urllib3.exceptions.HTTPError as error:
                log.warning("probe of a new key failed to reach AWS: %s", type(error).__name__)
            if time.monotonic() + delay > deadline:
                raise UpstreamUnavailable(
                    f"AWS did not accept the new access key within {timeout:g} seconds. "
                    "Nothing was kept; try the bind again."
                )
            time.sleep(delay)
            delay = min(delay * 2, MAX_PROBE_DELAY)

    def delete(self, user_name: str, *, check: Callable[[], None] | None = None) -> bool:
        """Delete the user's keys, its policy and the user; whatever is already gone is fine.

        `check`, which must pass before anything is deleted, runs while the keys are listed. Returns
        False when there was no such user.
        """
        listed: list[list[str] | None] = []
        run_concurrently(self.pool, [*filter(None, [check]), lambda: listed.append(self._key_ids(user_name))])
        key_ids = listed[0]
        if key_ids is None:
            return False
        calls = self._key_deletions(user_name, key_ids)
        calls.append(lambda: self._delete_policy(user_name, POLICY_NAME))
        run_concurrently(self.pool, calls)
        try:
            self.iam.delete_user(UserName=user_name)
        except ClientError as error:
            code = error_code(error)
            if code == "DeleteConflict":  # something beside the broker's own policy is attached
                self._detach_everything(user_name)
                with aws_errors(f"delete IAM user {user_name}"):
                    self.iam.delete_user(UserName=user_name)
            elif code != NO_SUCH_ENTITY:
                with aws_errors(f"delete IAM user {user_name}"):
                    raise
        return True

    def _has_key(self, user_name: str, key_id: str) -> bool:
        """Whether the key still exists: a refused probe may mean AWS is slow, or that an unbind won."""
        key_ids = self._key_ids(user_name)
        return key_ids is not None and key_id in key_ids

    def delete_if_unused(self, user_name: str) -> bool:
        """Delete the user only if it holds no access key: another request may be using it.

        Returns whether the user is gone.
        """
        key_ids = self._key_ids(user_name)
        if key_ids is None:
            return True
        if key_ids:
            return False
        self._delete_policy(user_name, POLICY_NAME)
        try:
            self.iam.delete_user(UserName=user_name)
        except ClientError as error:
            if error_code(error) == "DeleteConflict":  # a key was made meanwhile: that request owns the user now
                return False
            if error_code(error) != NO_SUCH_ENTITY:
                with aws_errors(f"delete IAM user {user_name}"):
                    raise
        return True

    def _key_ids(self, user_name: str) -> list[str] | None:
        """The user's access key ids; None when there is no such user."""
        try:
            keys = self.iam.list_access_keys(UserName=user_name)["AccessKeyMetadata"]
        except ClientError as error:
            if error_code(error) == NO_SUCH_ENTITY:
                return None
            with aws_errors(f"list the access keys of IAM user {user_name}"):
                raise
        return [key["AccessKeyId"] for key in keys]

    def _key_deletions(self, user_name: str, key_ids: list[str]) -> list[Callable[[], None]]:
        return [lambda key_id=key_id: self._delete_key(user_name, key_id) for key_id in key_ids]

    def _delete_key(self, user_name: str, key_id: str) -> None:
        self._ignoring_missing(
            f"delete an access key of IAM user {user_name}",
            self.iam.delete_access_key,
            UserName=user_name,
            AccessKeyId=key_id,
        )

    def _delete_policy(self, user_name: str, policy_name: str) -> None:
        self._ignoring_missing(
            f"delete the policy of IAM user {user_name}",
            self.iam.delete_user_policy,
            UserName=user_name,
            PolicyName=policy_name,
        )

    def _detach_everything(self, user_name: str) -> None:
        with aws_errors(f"clear IAM user {user_name}"):
            for name in self.iam.list_user_policies(UserName=user_name)["PolicyNames"]:
                self._delete_policy(user_name, name)
            for policy in self.iam.list_attached_user_policies(UserName=user_name)["AttachedPolicies"]:
                self.iam.detach_user_policy(UserName=user_name, PolicyArn=policy["PolicyArn"])
            for key_id in self._key_ids(user_name) or []:
                self._delete_key(user_name, key_id)

    @staticmethod
    def _ignoring_missing(doing: str, call: Any, **arguments: Any) -> None:
        try:
            call(**arguments)
        except ClientError as error:
            if error_code(error) != NO_SUCH_ENTITY:
                with aws_errors(doing):
                    raise
