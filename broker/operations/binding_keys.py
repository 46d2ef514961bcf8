"""A binding user's access keys: make one, wait until AWS accepts it, take back only one's own.

Identical binds may run at once (the Cloud Controller retries, several broker processes serve),
so a request deletes only the key it made, and never a key another request may still be about
to hand out: IAM allows two keys a user, and a key younger than any request can run is left be.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import UTC, datetime
from typing import Any

from broker import rollback
from broker.aws.clients import run_concurrently
from broker.aws.users import KeyLimitReached, Users
from broker.errors import ConcurrencyError, NotFound
from broker.model.access_keys import AccessKey, KeyInfo

log = logging.getLogger(__name__)

# IAM lets a user hold two access keys.
MAX_KEYS_PER_USER = 2


def stale_keys(keys: list[KeyInfo], now: datetime, in_flight_seconds: float) -> list[KeyInfo]:
    """The keys too old to belong to a bind still running."""
    return [key for key in keys if (now - key.created).total_seconds() > in_flight_seconds]


class BindingKeys:
    def __init__(self, users: Users, pool: Executor, in_flight_seconds: float, propagation_timeout: float) -> None:
        self.users = users
        self.pool = pool
        # A key younger than this may belong to a bind that has not answered yet.
        self.key_in_flight_seconds = in_flight_seconds
        self.propagation_timeout = propagation_timeout

    def give(
        self,
        user_name: str,
        binding_id: str,
        document: dict[str, Any],
        *,
        fresh_user: bool,
        made: list[AccessKey],
        checks: tuple[Callable[[], None], ...] = (),
    ) -> None:
        """Set the user's policy and make a key (into `made`) at once, with `checks` (their failure comes
        first; the caller takes back what `made` holds); a repeat first retires stale keys."""
        try:
            if not fresh_user:
                self._retire_stale_keys(user_name, binding_id)
            run_concurrently(
                self.pool,
                [
                    *checks,
                    lambda: self.users.put_policy(user_name, document),
                    lambda: made.append(self.users.new_key(user_name)),
                ],
            )
        except NotFound:
            raise ConcurrencyError(
                f"Binding {binding_id} was deleted while this bind ran (an unbind came at the same time). "
                "Nothing was kept; bind again if it is still wanted."
            ) from None
        except KeyLimitReached:
            raise ConcurrencyError(
                f"Other binds of binding {binding_id} are in progress. Try again in a minute."
            ) from None

    def _retire_stale_keys(self, user_name: str, binding_id: str) -> None:
        """Delete the keys of earlier tries of this bind, but none that a bind still running may hand out.

        A repeated bind means the platform never got the earlier answer, so an earlier key is an
        orphan; but a key younger than any request can run may be another request's, in flight.
        """
        keys = self.users.keys(user_name)
        stale = stale_keys(keys, datetime.now(UTC), self.key_in_flight_seconds)
        if stale:
            run_concurrently(
                self.pool, [lambda key=key: self.users.delete_key(user_name, key.access_key_id) for key in stale]
            )
        if len(keys) - len(stale) >= MAX_KEYS_PER_USER:
            raise KeyLimitReached(user_name)

    def wait_until_works(
        self, key: AccessKey, user_name: str, binding_id: str, bucket: str, prefix: str, denial_expected: bool
    ) -> int:
        """Probe with the new key until AWS accepts it; a key deleted meanwhile (an unbind won) ends it."""
        try:
            return self.users.wait_until_key_works(
                key,
                bucket,
                prefix,
                self.propagation_timeout,
                denial_expected=denial_expected,
                user_name=user_name,
            )
        except NotFound as gone:
            raise ConcurrencyError(
                f"Binding {binding_id} was deleted while it was being made ({gone.description}). Nothing was kept."
            ) from None

    def roll_back(self, user_name: str, made: list[AccessKey], *, created_user: bool) -> None:
        """Undo what this request made: its own key, and the user if it created it and no one else uses it.

        A failure here is logged, never raised: the client gets the error that caused the rollback.
        """

        def undo() -> None:
            for key in made:
                self.users.delete_key(user_name, key.access_key_id)
            if created_user and not self.users.delete_if_unused(user_name):
                log.warning("kept IAM user %s after a failed bind: a concurrent bind's key uses it", user_name)

        rollback.undo(f"roll back IAM user {user_name} after a failed bind", undo)
