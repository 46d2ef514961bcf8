"""Undoing a failed request's work without losing why it failed.

When a step fails, the broker removes what the request made. If that cleanup fails too, the
client must still hear the first error (the one it can act on) and the operator must learn what
was left behind: so the cleanup's own failure is logged, never raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from broker import deadlines
from broker.errors import BrokerError

log = logging.getLogger(__name__)


def undo(what: str, cleanup: Callable[[], Any]) -> None:
    """Run `cleanup` (which should `what`) with a little time of its own; log, don't raise, if it fails."""
    try:
        with deadlines.cleanup_time():
            cleanup()
    except Exception as error:
        reason = error.description if isinstance(error, BrokerError) else f"{type(error).__name__}: {error}"
        log.error("after a failed request the broker could not %s: %s", what, reason)
