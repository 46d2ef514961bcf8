"""The AWS calls of each operation do not grow with the instances and bindings that already exist.

The broker lists nothing account-wide (no ListBuckets, no ListUsers beyond one instance's path),
so an account holding 120 other instances, each with a binding user and its key, costs each
operation exactly the calls it costs in an empty account. (This was the scale study of bench/;
its latency figures showed moto's own growth, not the broker's.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from broker.local import backend as local_backend
from testing.faults import CallCounter, counting
from testing.harness import REGION, Backend, BrokerServer, OSBClient, new_id

# The other instances live in a local AWS of their own, so no other test meets them.
pytestmark = pytest.mark.xdist_group("scale")

# More users than one ListUsers page holds (100), so a listing beyond one instance's path would page.
EXISTING = 120


@pytest.fixture(scope="module")
def crowded() -> Iterator[tuple[Backend, BrokerServer]]:
    backend = Backend.start()
    try:
        with BrokerServer(backend.settings()) as server:
            yield backend, server
    finally:
        backend.moto.stop()


def add_other_instances(backend: Backend, count: int) -> None:
    """Instances and bindings as the broker names them, made straight in the local AWS (fast)."""
    s3, iam = backend.client("s3"), backend.client("iam")

    def one() -> None:
        instance = new_id()
        s3.create_bucket(Bucket=f"cf-s3-{instance}", CreateBucketConfiguration={"LocationConstraint": REGION})
        user = f"cf-s3-{new_id()}"
        iam.create_user(UserName=user, Path=f"/cf-s3-broker/{instance}/")
        iam.create_access_key(UserName=user)

    local_backend.set_enforcement(backend.moto.endpoint, enforce=False)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            for future in [pool.submit(one) for _ in range(count)]:
                future.result()
    finally:
        local_backend.set_enforcement(backend.moto.endpoint, enforce=True)


def calls_per_operation(server: BrokerServer) -> dict[str, Counter[str]]:
    """The AWS calls (by name) of provision, bind, unbind and deprovision of one fresh instance."""
    osb: OSBClient = server.osb()
    instance, binding = new_id(), new_id()
    steps = {
        "provision": lambda: osb.provision(instance, parameters={"versioning": True}),
        "bind": lambda: osb.bind(instance, binding),
        "unbind": lambda: osb.unbind(instance, binding),
        "deprovision": lambda: osb.deprovision(instance),
    }
    calls: dict[str, Counter[str]] = {}
    for name, step in steps.items():
        with counting(server, CallCounter()) as counter:
            response = step()
        assert response.status_code in (200, 201), f"{name}: {response.status_code} {response.text}"
        counts = Counter(counter.calls)
        # The account's user count is read at most every 30 s per worker, whatever the operation: when
        # it falls into a step depends on the clock, not on the account.
        assert counts.pop("GetAccountSummary", 0) <= 1, name
        assert "ListBuckets" not in counts, name  # one call whatever the count, but its answer grows
        calls[name] = counts
    return calls


def test_calls_per_operation_do_not_grow_with_existing_instances(crowded: tuple[Backend, BrokerServer]) -> None:
    backend, server = crowded
    empty = calls_per_operation(server)
    add_other_instances(backend, EXISTING)
    assert len(backend.client("s3").list_buckets()["Buckets"]) >= EXISTING
    assert calls_per_operation(server) == empty
    assert all(sum(counts.values()) > 0 for counts in empty.values())
