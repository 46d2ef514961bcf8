"""`python -m broker reconcile`: what the broker made that needs a person; `--fix` removes the leftovers.

It reads everything first (broker/aws/leftovers_listing.py), decides with a pure function
(broker/model/leftovers.py), and only then, with --fix, removes: binding users whose bucket is
gone (keys, policies and user), and half-made buckets that hold nothing. It never removes a bucket
that holds objects, nor a user AWS has quarantined: those, and users with another permissions
boundary, are for a person. Exit status 0 when nothing is left that needs one, 1 otherwise.

Users are listed before buckets: a user made after the listing of buckets began could otherwise
look as if its new bucket were gone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace

from broker import __version__
from broker.aws import bucket_claims, leftovers_listing
from broker.aws.buckets import Buckets
from broker.aws.clients import make_clients
from broker.aws.identity import check_aws_access
from broker.aws.probe import KeyProbe
from broker.aws.users import Users
from broker.aws_names import US_EAST_1
from broker.errors import BrokerError
from broker.model.leftovers import BUCKET_GONE, HALF_MADE, Finding, decide
from broker.settings import Settings

# A few calls at a time: a platform of thousands is read at a gentle rate.
AWS_THREADS = 4


@dataclass(frozen=True)
class Outcome:
    finding: Finding
    removed: bool
    note: str


@dataclass(frozen=True)
class Report:
    users_checked: int
    buckets_checked: int
    findings: list[Finding]
    outcomes: list[Outcome]

    def left(self) -> list[Finding]:
        """What still needs a person: every finding not removed."""
        removed = {(o.finding.kind, o.finding.subject) for o in self.outcomes if o.removed}
        return [f for f in self.findings if (f.kind, f.subject) not in removed]


class Reconciler:
    def __init__(self, settings: Settings, pool: ThreadPoolExecutor) -> None:
        clients = make_clients(settings)
        self.settings = replace(settings, account_id=check_aws_access(settings, clients.sts).account_id)
        self.iam = clients.iam
        self.pool = pool
        self.buckets = Buckets(clients.s3, settings.aws_region, pool)
        probe = KeyProbe(settings.aws_region, settings.aws_endpoint_url, AWS_THREADS)
        self.users = Users(clients.iam, probe, settings.iam_permissions_boundary_arn, pool)

    def find(self) -> tuple[int, int, list[Finding]]:
        settings = self.settings
        users = leftovers_listing.binding_users(self.iam, self.pool, settings.iam_user_path, settings.iam_user_prefix)
        buckets = leftovers_listing.prefix_buckets(self.buckets, self.pool, settings.bucket_prefix)
        found = decide(users, buckets, settings.bucket_name, settings.iam_permissions_boundary_arn, time.time())
        return len(users), len(buckets), found

    def remove(self, finding: Finding) -> Outcome:
        """Remove one leftover, checking again first that it is still one."""
        try:
            if finding.kind == BUCKET_GONE and finding.instance_id is not None:
                if self.buckets.read_tags(self.settings.bucket_name(finding.instance_id)) is not None:
                    return Outcome(finding, False, "kept: its bucket is there again")
                self.users.delete(finding.subject)
                return Outcome(finding, True, "removed, with its keys and policies")
            if finding.kind == HALF_MADE:
                return self._remove_half_made(finding)
        except BrokerError as error:
            return Outcome(finding, False, f"FAILED: {error.description}")
        return Outcome(finding, False, "kept")

    def _remove_half_made(self, finding: Finding) -> Outcome:
        bucket = finding.subject
        if leftovers_listing.holds_objects(self.buckets.s3, bucket):
            return Outcome(finding, False, "kept: it holds objects")
        if self.settings.aws_region == US_EAST_1 and bucket_claims.claimed_at(self.buckets.s3, bucket) is not None:
            bucket_claims.release(self.buckets.s3, bucket)
        self.buckets.delete(bucket)
        return Outcome(finding, True, "removed (it was empty)")


def reconcile(settings: Settings, *, fix: bool) -> Report:
    with ThreadPoolExecutor(max_workers=AWS_THREADS, thread_name_prefix="aws") as pool:
        reconciler = Reconciler(settings, pool)
        users, buckets, found = reconciler.find()
        # One at a time: removals are few, and each is checked again just before.
        outcomes = [reconciler.remove(f) for f in found if f.removable] if fix else []
    return Report(users, buckets, found, outcomes)


def table(report: Report) -> list[str]:
    """For people: one row per finding, what to do below it; then what --fix did."""
    checked = f"{report.users_checked} binding users and {report.buckets_checked} buckets checked"
    if not report.findings:
        return [f"Nothing needs a person ({checked})."]
    rows = [("WHAT", "NAME", "INSTANCE")] + [(f.kind, f.subject, f.instance_id or "-") for f in report.findings]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"{len(report.findings)} findings ({checked}):"]
    for index, row in enumerate(rows):
        lines.append(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}".rstrip())
        if index:
            lines.append(f"    {report.findings[index - 1].detail}")
    lines += [f"{o.finding.kind} {o.finding.subject}: {o.note}" for o in report.outcomes]
    left = report.left()
    if not left:
        lines.append("Nothing is left that needs a person.")
    elif any(f.removable for f in left) and not report.outcomes:
        lines.append("Run `python -m broker reconcile --fix` to remove the leftovers (never data, never a quarantine).")
    return lines


def as_json(report: Report) -> str:
    """For machines: the findings, what --fix did, and what is left."""
    return json.dumps(
        {
            "version": __version__,
            "checked": {"binding_users": report.users_checked, "buckets": report.buckets_checked},
            "findings": [asdict(f) for f in report.findings],
            "fixed": [{**asdict(o.finding), "removed": o.removed, "note": o.note} for o in report.outcomes],
            "needs_a_person": len(report.left()),
        },
        indent=2,
    )


def run(settings: Settings, *, fix: bool, json_output: bool, say: Callable[[str], None] = print) -> int:
    report = reconcile(settings, fix=fix)
    if json_output:
        say(as_json(report))
    else:
        for line in table(report):
            say(line)
    return 1 if report.left() else 0
