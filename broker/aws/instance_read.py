"""Reading an instance's bucket for GET instance and update: its tags and its CORS rules, at once."""

from __future__ import annotations

from typing import Any

from broker.aws.buckets import Buckets
from broker.aws.clients import run_concurrently

Tags = list[dict[str, str]]


def tags_and_cors(buckets: Buckets, bucket: str) -> tuple[Tags | None, list[dict[str, Any]] | Exception]:
    """The bucket's tags and its CORS rules: both are always needed, and neither depends on the other.

    A failed CORS read comes back as its error, for the caller to raise only once the tags say the
    instance exists: a missing, half-made or other bucket is answered from the tags alone, as
    when the CORS rules were read after them.
    """
    found: dict[str, Any] = {}

    def cors() -> None:
        try:
            found["cors"] = buckets.cors_rules(bucket)
        except Exception as error:  # handed to the caller
            found["cors"] = error

    run_concurrently(buckets.pool, [lambda: found.update(tags=buckets.read_tags(bucket)), cors])
    return found["tags"], found["cors"]
