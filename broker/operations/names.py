"""Keeping the org, space and instance names current on a bucket and its binding users.

The Cloud Controller sends a context-only update when an instance is renamed (the catalog sets
`allow_context_updates`), but nothing when an org or space is renamed: so every update and bind
that carries names refreshes them. The bucket's tags say which names were last written: binding
users are tagged first and the bucket last, so a refresh cut short is redone by the next request.
Nothing here fails a request for the sake of a name: a refusal is logged and the request goes on.
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor

from broker.aws import user_state
from broker.aws.buckets import Buckets
from broker.aws.clients import run_concurrently
from broker.aws.users import Users
from broker.errors import BrokerError
from broker.model.names import Names, name_tags, with_names
from broker.model.records import MAX_TAGS
from broker.settings import Settings

log = logging.getLogger(__name__)


class NameRefresh:
    def __init__(self, settings: Settings, buckets: Buckets, users: Users, pool: Executor) -> None:
        self.settings = settings
        self.buckets = buckets
        self.users = users
        self.pool = pool

    def refresh(self, instance_id: str, given: Names) -> None:
        """Bring the instance's names up to those `given` (a name not given stays as it is)."""
        try:
            self._refresh(instance_id, given)
        except BrokerError as error:
            log.warning("could not record the new names of instance %s: %s", instance_id, error)

    def _refresh(self, instance_id: str, given: Names) -> None:
        bucket = self.settings.bucket_name(instance_id)
        tag_set = self.buckets.read_tags(bucket)
        stored = self.buckets.read_from(tag_set)
        if tag_set is None or stored is None:
            return  # gone meanwhile, or being deleted: nothing to name
        wanted = stored.record.names.merged(given)
        if wanted == stored.record.names:
            return  # the usual case: one read, no write
        self._tag_users(instance_id, wanted)
        renamed = with_names(tag_set, wanted)
        if len(renamed) > MAX_TAGS:
            # Only buckets of earlier releases with nearly 50 tags: `cf upgrade-service` makes room.
            log.warning("bucket %s has no room for its names (%d tags): upgrade the instance", bucket, len(renamed))
            return
        self.buckets.put_tag_set(bucket, renamed)
        log.info("recorded the names of instance %s: %s", instance_id, name_tags(wanted))

    def _tag_users(self, instance_id: str, names: Names) -> None:
        """Tag every binding user under the instance's path (one ListUsers, then one TagUser each)."""
        tags = name_tags(names)
        users = self.users.names_under(self.settings.user_path(instance_id))
        run_concurrently(self.pool, [lambda name=name: user_state.tag(self.users.iam, name, tags) for name in users])
