"""`python -m broker upgrade`: which instances are behind this release, and (`--all`) upgrade them.

The same upgrade as `cf upgrade-service` (broker/operations/upgrade.py), run by an operator one
instance after another with a pause between them, so a platform of thousands is brought current
without a burst of AWS calls. The state is AWS's: an interrupted run is resumed by running it
again, which finds only the instances still behind.

AWS calls: listing is one ListBuckets (per 1,000 buckets) and one GetBucketTagging per bucket of
the broker's prefix. Upgrading an instance adds about 4 IAM calls per binding user and about 10 S3
calls for the bucket (see docs/operators.md).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from broker import __version__
from broker.aws.buckets import Buckets
from broker.aws.clients import make_clients
from broker.aws.identity import check_aws_access
from broker.errors import BrokerError
from broker.model.catalog import load_catalog
from broker.operations.assembly import assemble
from broker.operations.upgrade import Upgrades
from broker.settings import Settings

# Seconds between two instances' upgrades with --all, unless --pause says otherwise.
DEFAULT_PAUSE = 1.0
AWS_THREADS = 4


@dataclass(frozen=True)
class Behind:
    instance_id: str
    version: str | None
    org_guid: str
    org_name: str | None


def instances_behind(buckets: Buckets, s3: object, prefix: str) -> Iterator[Behind]:
    """The broker's instances not at this release (ListBuckets, then GetBucketTagging each)."""
    for page in s3.get_paginator("list_buckets").paginate():  # type: ignore[attr-defined]
        for bucket in page.get("Buckets", []):
            if not bucket["Name"].startswith(prefix):
                continue
            stored = buckets.read_from(buckets.read_tags(bucket["Name"]))
            if stored is None or stored.record.version == __version__:
                continue  # not the broker's, half-made, being deleted, or current
            record = stored.record
            yield Behind(record.instance_id, record.version, record.org_guid, record.names.organization)


def summary(behind: list[Behind]) -> list[str]:
    """What an operator reads first: how many, from which releases, in which orgs."""
    if not behind:
        return [f"Every instance is at {__version__}."]
    lines = [f"{len(behind)} instances are behind {__version__}."]
    versions = Counter(item.version or "(before versions)" for item in behind)
    lines += [f"  from {version}: {count}" for version, count in sorted(versions.items())]
    orgs = Counter((item.org_name or "(name not recorded)", item.org_guid) for item in behind)
    lines.append("By org:")
    lines += [f"  {name} ({guid}): {count}" for (name, guid), count in orgs.most_common()]
    return lines


def build_upgrades(settings: Settings, pool: ThreadPoolExecutor) -> tuple[Upgrades, Buckets, object]:
    """The operations the broker serves requests with, for this one process."""
    clients = make_clients(settings)
    identity = check_aws_access(settings, clients.sts)
    settings = replace(settings, account_id=identity.account_id)  # account-regional bucket names hold it
    catalog = load_catalog(settings.catalog_path)
    ops = assemble(settings, catalog, clients, identity.account_id, pool)
    return ops.upgrades, ops.buckets, clients.s3


def upgrade_all(
    upgrades: Upgrades,
    behind: list[Behind],
    pause: float,
    say: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Upgrade each instance in turn; the number that failed (each is said, and the run goes on)."""
    failed = 0
    for index, item in enumerate(behind, start=1):
        if index > 1:
            sleep(pause)
        started = time.monotonic()
        try:
            upgrades.start(item.instance_id, async_allowed=False)
        except BrokerError as error:
            failed += 1
            say(f"[{index}/{len(behind)}] {item.instance_id}: FAILED: {error.description}")
            continue
        say(f"[{index}/{len(behind)}] {item.instance_id}: upgraded in {time.monotonic() - started:.1f} s")
    return failed


def run(settings: Settings, *, upgrade: bool, pause: float, say: Callable[[str], None] = print) -> int:
    with ThreadPoolExecutor(max_workers=AWS_THREADS, thread_name_prefix="aws") as pool:
        upgrades, buckets, s3 = build_upgrades(settings, pool)
        behind = list(instances_behind(buckets, s3, settings.bucket_prefix))
        for line in summary(behind):
            say(line)
        if not upgrade or not behind:
            if behind:
                say("Run `python -m broker upgrade --all` to upgrade them, one after another.")
            return 0
        failed = upgrade_all(upgrades, behind, pause, say)
    if failed:
        say(f"{failed} of {len(behind)} failed; run the command again to retry them (the rest are done).")
        return 1
    say(f"All {len(behind)} instances are at {__version__}.")
    return 0
