"""Deleting the binding users left on a deprovisioned instance, in waves that fit the request's time.

The platform unbinds before it deprovisions, but a failed unbind, a service key it lost track of
or another client can leave hundreds of users. Deleting them all at once would fill the worker's
AWS pool for everyone and could outlast the request: so they go a few at a time, and when the
request's time runs short the rest is left to the next call (last_operation, or a retry).
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from dataclasses import dataclass

from broker import deadlines
from broker.aws.clients import run_concurrently
from broker.aws.users import Users

log = logging.getLogger(__name__)

# Users deleted at once: half the AWS pool, so other requests' calls get threads between waves.
WAVE = 8
# No new wave starts with less than this left of the request's time: room to answer.
RESERVE_SECONDS = 2.0


@dataclass(frozen=True)
class Sweep:
    removed: list[str]
    left: int  # users not deleted yet because the request's time ran short

    @property
    def finished(self) -> bool:
        return self.left == 0


def sweep_users(users: Users, pool: Executor, path: str, instance_id: str) -> Sweep:
    """Delete the users under `path` (those of `instance_id`) until none is left or time runs short."""
    names = users.names_under(path)
    removed: list[str] = []
    for start in range(0, len(names), WAVE):
        left = deadlines.check(f"deleting the binding users left on instance {instance_id}")
        if start and left is not None and left < RESERVE_SECONDS:
            break  # the first wave always runs, so every call makes progress
        wave = names[start : start + WAVE]
        run_concurrently(pool, [lambda name=name: users.delete(name) for name in wave])
        removed += wave
    if removed:
        log.warning(
            "deleted %d binding users left on deprovisioned instance %s (%d to go)",
            len(removed),
            instance_id,
            len(names) - len(removed),
        )
    return Sweep(removed, len(names) - len(removed))
