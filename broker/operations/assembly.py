"""The operations the broker works with, wired once from one process's AWS clients.

The app (for each gunicorn worker) and the operators' commands build the same objects the same
way; what each adds on top (the OSB adapter, name refreshes) it adds itself.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from broker import deadlines
from broker.aws.buckets import Buckets
from broker.aws.clients import MAX_POOL_CONNECTIONS, AwsClients
from broker.aws.probe import KeyProbe
from broker.aws.users import Users
from broker.model.catalog import Catalog
from broker.operations.bindings import Bindings
from broker.operations.instances import Instances
from broker.operations.upgrade import Upgrades
from broker.settings import Settings


@dataclass(frozen=True)
class Operations:
    buckets: Buckets
    probe: KeyProbe
    users: Users
    bindings: Bindings
    instances: Instances
    upgrades: Upgrades


def assemble(
    settings: Settings, catalog: Catalog, clients: AwsClients, account_id: str, pool: ThreadPoolExecutor
) -> Operations:
    """`settings` already carry the account id (account-regional bucket names hold it)."""
    buckets = Buckets(clients.s3, settings.aws_region, pool, tls_endpoint=settings.s3_endpoint.startswith("https://"))
    probe = KeyProbe(
        settings.aws_region, settings.aws_endpoint_url, MAX_POOL_CONNECTIONS, read_timeout=settings.aws_read_timeout
    )
    users = Users(clients.iam, probe, settings.iam_permissions_boundary_arn, pool)
    bindings = Bindings(
        settings,
        catalog,
        buckets,
        users,
        pool,
        own_account=account_id,
        key_in_flight_seconds=deadlines.LONGER_THAN_ANY_REQUEST,
    )
    instances = Instances(settings, catalog, buckets, bindings.remove_all_of)
    upgrades = Upgrades(settings, instances, bindings, buckets, users, pool)
    return Operations(buckets, probe, users, bindings, instances, upgrades)
