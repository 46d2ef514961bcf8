"""`make run` (python -m broker on its embedded backend) accepts the KMS example of docs/users.md."""

from __future__ import annotations

import sys

from broker.server.startup import LOCAL_KMS_KEY
from testing.harness import BASIC, REPO, SERVICE_ID, free_port, new_id
from testing.processes import clean_env, osb, running


def test_the_users_guide_kms_key_works_against_the_local_backend() -> None:
    assert LOCAL_KMS_KEY in (REPO / "docs" / "users.md").read_text()
    port, aws_port = free_port(), free_port()
    env = clean_env(PORT=str(port), LOCAL_AWS_PORT=str(aws_port), BROKER_USERNAME="broker", BROKER_PASSWORD="local")
    with running([sys.executable, "-m", "broker"], env, port):
        auth = ("broker", "local")
        instance_id = new_id()
        body = {"service_id": SERVICE_ID, "plan_id": BASIC, "organization_guid": new_id(), "space_guid": new_id()}
        created = osb(port, auth, "PUT", f"/v2/service_instances/{instance_id}", json=body)
        assert created.status_code == 201, created.text
        update = {"service_id": SERVICE_ID, "parameters": {"kms_key_arn": LOCAL_KMS_KEY}}
        updated = osb(port, auth, "PATCH", f"/v2/service_instances/{instance_id}", json=update)
        assert updated.status_code == 200, updated.text
        other = {"service_id": SERVICE_ID, "parameters": {"kms_key_arn": LOCAL_KMS_KEY.replace("1234abcd", "5678abcd")}}
        refused = osb(port, auth, "PATCH", f"/v2/service_instances/{instance_id}", json=other)
        assert refused.status_code == 400 and "is not a key this platform allows" in refused.text
