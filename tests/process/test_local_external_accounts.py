"""`make run` (python -m broker on its embedded backend) accepts the external_buckets example of docs/users.md.

On AWS external_buckets is off until ALLOWED_EXTERNAL_ACCOUNT_IDS names the accounts; the local
backend allows one made-up account by default, so the users' guide runs as written.
"""

from __future__ import annotations

import sys

from broker.server.startup import LOCAL_EXTERNAL_ACCOUNT
from testing.harness import BASIC, SERVICE_ID, free_port, new_id
from testing.processes import clean_env, osb, running


def test_the_users_guide_external_buckets_work_against_the_local_backend() -> None:
    port, aws_port = free_port(), free_port()
    env = clean_env(PORT=str(port), LOCAL_AWS_PORT=str(aws_port), BROKER_USERNAME="broker", BROKER_PASSWORD="local")
    with running([sys.executable, "-m", "broker"], env, port):
        auth = ("broker", "local")
        instance_id, org = new_id(), new_id()
        body = {"service_id": SERVICE_ID, "plan_id": BASIC, "organization_guid": org, "space_guid": new_id()}
        assert osb(port, auth, "PUT", f"/v2/service_instances/{instance_id}", json=body).status_code == 201
        bind = {
            "service_id": SERVICE_ID,
            "plan_id": BASIC,
            "context": {"organization_guid": org},
            "parameters": {"external_buckets": ["legacy-assets"]},
        }
        bound = osb(port, auth, "PUT", f"/v2/service_instances/{instance_id}/service_bindings/{new_id()}", json=bind)
        assert bound.status_code == 201, bound.text
        assert "legacy-assets" in bound.json()["credentials"]["external_bucket_policies"]
    assert LOCAL_EXTERNAL_ACCOUNT != "123456789012"  # never the local backend's own account
