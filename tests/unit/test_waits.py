"""The waits tests shorten are production's unless set: gunicorn's keep-alive and botocore's retry back-off."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

from botocore.retries.standard import RetryContext

from broker.aws.clients import make_clients, retry_backoff
from broker.settings import Settings
from testing.harness import REPO
from testing.processes import clean_env

SETTINGS = Settings(broker_username="u", broker_password="p", aws_region="eu-west-2")


def gunicorn_keepalive(**env: str) -> str:
    # In a process of its own: the config module reads its environment at import.
    command = [sys.executable, "-c", "import broker.server.gunicorn_config as c; print(c.keepalive)"]
    environment = clean_env(AWS_ACCESS_KEY_ID="AKIDEXAMPLE", **env)  # pointed at AWS: nothing is patched
    environment.pop("GUNICORN_KEEPALIVE")
    environment.update(env)
    return subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, check=True).stdout


def test_gunicorn_keeps_idle_connections_five_seconds_unless_set() -> None:
    assert gunicorn_keepalive() == "5\n"
    assert gunicorn_keepalive(GUNICORN_KEEPALIVE="2") == "2\n"


def test_the_retry_back_off_is_botocores_unless_set() -> None:
    for client in vars(make_clients(SETTINGS)).values():
        assert retry_backoff(client)._max_backoff == 20.0
    capped = make_clients(replace(SETTINGS, aws_retry_max_backoff=0.01))
    for client in vars(capped).values():
        backoff = retry_backoff(client)
        assert backoff._max_backoff == 0.01
        throttled = RetryContext(attempt_number=5, parsed_response={"Error": {"Code": "Throttling"}})
        assert all(0 <= backoff.delay_amount(throttled) <= 0.01 for _ in range(100))


def test_the_read_timeout_is_a_setting() -> None:
    clients = make_clients(replace(SETTINGS, aws_read_timeout=1.5))
    assert {client.meta.config.read_timeout for client in vars(clients).values()} == {1.5}
    assert make_clients(SETTINGS).s3.meta.config.read_timeout == 6.0
