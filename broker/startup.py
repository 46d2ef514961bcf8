"""What happens once before the broker serves: check settings, or start the embedded local AWS."""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping

from broker.settings import Settings, SettingsError, aws_configured, from_env, on_cloud_foundry

DEFAULT_LOCAL_AWS_PORT = 5000
LOCAL_REGION = "us-east-1"


def prepare_environment(environ: MutableMapping[str, str]) -> Settings:
    """Check the settings; in local mode first start moto and put its address and keys in `environ`."""
    try:
        if on_cloud_foundry(environ) or aws_configured(environ):
            return from_env(environ)
        return _start_local(environ)
    except SettingsError as error:
        print(f"s3-broker: refusing to start: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def _start_local(environ: MutableMapping[str, str]) -> Settings:
    # Imported here: it brings boto3 (and urllib3), which must not load before gevent patches.
    from broker import local

    made_up = not environ.get("BROKER_USERNAME") or not environ.get("BROKER_PASSWORD")
    if made_up:
        environ["BROKER_USERNAME"] = environ.get("BROKER_USERNAME") or "broker"
        environ["BROKER_PASSWORD"] = environ.get("BROKER_PASSWORD") or local.made_up_secret()
    environ.setdefault("AWS_REGION", LOCAL_REGION)
    # Check the naming settings before starting anything.
    from_env({**environ, "AWS_ACCESS_KEY_ID": "check", "AWS_SECRET_ACCESS_KEY": "check"})
    port = int(environ.get("LOCAL_AWS_PORT", DEFAULT_LOCAL_AWS_PORT))
    local.start_moto(port)
    endpoint = f"http://127.0.0.1:{port}"
    identity = local.create_broker_identity(
        endpoint,
        environ["AWS_REGION"],
        bucket_prefix=environ.get("BUCKET_PREFIX", "cf-s3-"),
        iam_user_path=environ.get("IAM_USER_PATH", "/cf-s3-broker/"),
        iam_user_prefix=environ.get("IAM_USER_PREFIX", "cf-s3-"),
    )
    local.set_enforcement(endpoint, enforce=True)
    environ["AWS_ENDPOINT_URL"] = endpoint
    environ["AWS_ACCESS_KEY_ID"] = identity.access_key_id
    environ["AWS_SECRET_ACCESS_KEY"] = identity.secret_access_key
    settings = from_env(environ)
    _print_welcome(settings, environ.get("PORT", "8080"), show_password=made_up)
    return settings


def _print_welcome(settings: Settings, port: str, *, show_password: bool) -> None:
    password = settings.broker_password if show_password else "$BROKER_PASSWORD"
    broker = f"http://{settings.broker_username}:{password}@127.0.0.1:{port}"
    print(
        f"""
s3-broker: embedded local AWS (moto, IAM enforced) at {settings.aws_endpoint_url}
s3-broker: broker at http://127.0.0.1:{port}  user {settings.broker_username}  password {password}
  curl -s -H 'X-Broker-API-Version: 2.17' {broker}/v2/catalog
  curl -s -X PUT -H 'X-Broker-API-Version: 2.17' -H 'Content-Type: application/json' \\
    {broker}/v2/service_instances/11111111-2222-3333-4444-555555555555 \\
    -d '{{"service_id":"2b7a1f4e-6c1d-4a8e-9f3b-5d2c8e0a7b61","plan_id":"8f1e3c2a-4b5d-4e6f-8a7b-9c0d1e2f3a41","organization_guid":"org","space_guid":"space"}}'
  (README.md walks through binding and using the key with the AWS CLI)
""",
        flush=True,
    )


def main() -> None:
    """`python -m broker`: serve with gunicorn exactly as the Procfile does."""
    from gunicorn.app.wsgiapp import run

    sys.argv = ["gunicorn", "--config", "python:broker.gunicorn_config", "broker.app:create_app()"]
    os.environ.setdefault("PORT", "8080")
    run()
