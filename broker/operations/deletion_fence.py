"""No update or bind lands on a bucket being deleted.

An asynchronous deprovision marks the bucket `s3-broker:deleting`, sets lifecycle rules that expire
everything and sweeps the instance's binding users. An update or bind that read the instance as
live just before would undo that: rewrite the tags without the mark, or make a user after the
sweep, whose key keeps the bucket from ever emptying. So both look again right before the write
that makes them stick, and refuse as the OSB spec has it for a resource being deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor

from broker import deadlines
from broker.aws.buckets import Buckets
from broker.aws.clients import run_concurrently
from broker.errors import ConcurrencyError
from broker.model.records import deleting_since


def being_deleted(instance_id: str, bucket: str) -> ConcurrencyError:
    return ConcurrencyError(
        f"Instance {instance_id} is being deleted (bucket {bucket} is being emptied): it can no longer be "
        "changed or bound. `cf service NAME` shows the deletion's progress."
    )


def refuse_if_being_deleted(buckets: Buckets, bucket: str, instance_id: str, *, gone_too: bool = False) -> None:
    """Raise the 422 if the bucket is being deleted (or, with `gone_too`, is gone: deleted meanwhile)."""
    tags = buckets.read_tags(bucket)
    if deleting_since(tags) is not None or (gone_too and tags is None):
        raise being_deleted(instance_id, bucket)


def check_before_handing_out(
    buckets: Buckets, bucket: str, instance_id: str, pool: Executor, probe: Callable[[], None]
) -> None:
    """The last checks before a new key is handed out, with the key's `probe`: the bucket is not being
    deleted, and then the request's time is not up (past it the platform may have given up and sent
    an unbind that found nothing, so the key would live on untracked). Either way the key is taken back.

    The bucket's look needs only to come after CreateUser, so it runs with the probe: a deprovision
    marks or deletes the bucket before it lists the users to delete, so a user it did not list was
    made after that, and a look after CreateUser sees the mark; a user it listed goes with its key.
    """
    run_concurrently(pool, [probe, lambda: refuse_if_being_deleted(buckets, bucket, instance_id, gone_too=True)])
    deadlines.check("handing out the new key")
