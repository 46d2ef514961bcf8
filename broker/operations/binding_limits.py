"""Limits on the IAM users binds make: one tenant must not use up the account's users for everyone.

AWS allows 5,000 IAM users an account, not adjustable, shared by every tenant of the platform
and by anything else in the account. A bind that made a user checks, while it makes the key,
that its instance holds at most MAX_BINDINGS_PER_INSTANCE users and the account at most
MAX_IAM_USERS (or AWS's quota, if lower); past either the user and its key go again, before any
key is handed out, and the bind is refused. Checking after the user is made, not before, counts
concurrent binds too, and leaves a repeated bind of an existing binding alone.
"""

from __future__ import annotations

import threading
import time

from broker.aws.users import Users
from broker.errors import Unprocessable
from broker.settings import Settings

# The account's users are read with iam:GetAccountSummary at most this often per worker; between
# reads, the users this worker made are added to the count.
SUMMARY_SECONDS = 30.0


class LimitExceeded(Unprocessable):
    error = "LimitExceeded"


def users_ceiling(setting: int, quota: int | None) -> int:
    """The most IAM users binds may bring the account to: the setting, or AWS's quota if lower."""
    return setting if quota is None else min(setting, quota)


class BindingLimits:
    def __init__(self, users: Users, settings: Settings) -> None:
        self.users = users
        self.settings = settings
        self._lock = threading.Lock()
        self._read_at = -SUMMARY_SECONDS
        self._account_users = 0
        self._quota: int | None = None
        self._made_since = 0

    def account(self) -> tuple[int, int | None]:
        """The account's IAM users (as last read, plus those made here since) and its quota."""
        if time.monotonic() - self._read_at > SUMMARY_SECONDS:
            users, quota = self.users.account_summary()
            with self._lock:
                self._read_at, self._account_users, self._quota, self._made_since = time.monotonic(), users, quota, 0
        with self._lock:
            return self._account_users + self._made_since, self._quota

    def check_new_user(self, instance_id: str) -> None:
        """Raise LimitExceeded if the user a bind just made takes its instance or the account past a limit."""
        with self._lock:
            self._made_since += 1
        users, quota = self.account()
        ceiling = users_ceiling(self.settings.max_iam_users, quota)
        if users > ceiling:
            self._forget_one()
            raise LimitExceeded(
                f"The platform's AWS account has reached {ceiling} IAM users, the most its bindings may use "
                f"(MAX_IAM_USERS; AWS allows 5,000 an account, shared by all tenants), so no binding can be made now. "
                "Delete service keys and bindings you no longer use, or ask your platform operator."
            )
        limit = self.settings.max_bindings_per_instance
        if self.users.count_under(self.settings.user_path(instance_id)) > limit:
            self._forget_one()
            raise LimitExceeded(
                f"Instance {instance_id} already has {limit} bindings and service keys, the most one instance may have "
                f"(MAX_BINDINGS_PER_INSTANCE). Unbind apps or delete service keys it no longer needs "
                "(`cf service NAME` lists them), or create another instance."
            )

    def _forget_one(self) -> None:
        """The refused bind's user goes again: it no longer counts."""
        with self._lock:
            self._made_since -= 1
