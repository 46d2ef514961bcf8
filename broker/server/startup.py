"""What happens once before the broker serves: check settings and AWS access, or start the embedded local AWS."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from pathlib import Path

from broker import ports
from broker.aws.identity import CallerIdentity
from broker.aws_names import US_EAST_1
from broker.settings import Settings, SettingsError, aws_configured, from_env, on_cloud_foundry

log = logging.getLogger(__name__)

DEFAULT_LOCAL_AWS_PORT = 5000
# The KMS key docs/users.md's example names, allowed by the local backend unless ALLOWED_KMS_KEY_ARNS
# says otherwise: made up in moto's account (moto's S3 does not ask KMS about the keys it is given).
LOCAL_KMS_KEY = "arn:aws:kms:eu-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# The other account docs/users.md's external_buckets example may reach locally, unless
# ALLOWED_EXTERNAL_ACCOUNT_IDS says otherwise (on AWS, external_buckets is off until it is set).
LOCAL_EXTERNAL_ACCOUNT = "444455556666"


def prepare_environment(environ: MutableMapping[str, str], broker_address: tuple[str, int] | None = None) -> Settings:
    """Check the settings and the broker's port; in local mode first start moto and put its address
    and keys in `environ`. Exits with status 2 and a message if not.

    Pointed at AWS, the master only reads settings: each worker checks the key with STS as it builds
    the app (check_aws_access), so the master never loads boto3 and workers do not inherit it.
    """
    try:
        if broker_address:
            ports.ensure_free(*broker_address, "PORT")
        settings = from_env(environ) if on_cloud_foundry(environ) or aws_configured(environ) else _start_local(environ)
    except SettingsError as error:
        log.error("refusing to start: %s", error)
        raise SystemExit(2) from None
    warn_of_placeholders(settings.catalog_path)
    return settings


# catalog.yml ships with this in its documentationUrl: the operator replaces it with where they
# publish docs/users.md (an edit of catalog.yml, or a copy named by CATALOG_PATH).
PLACEHOLDER_ORG = "YOUR-ORG"


def placeholder_documentation(catalog_path: Path) -> list[str]:
    """The services whose documentationUrl still holds the shipped placeholder."""
    import yaml

    try:
        document = yaml.load(catalog_path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError):
        return []  # the workers refuse such a catalog, with the reason
    services = document.get("services") or [] if isinstance(document, dict) else []
    return [
        str(service.get("name"))
        for service in services
        if isinstance(service, dict)
        and PLACEHOLDER_ORG in str((service.get("metadata") or {}).get("documentationUrl", ""))
    ]


def warn_of_placeholders(catalog_path: Path) -> None:
    """One line at start while the catalog sends app developers to a page that does not exist."""
    for service in placeholder_documentation(catalog_path):
        log.warning(
            "service %s: metadata.documentationUrl in %s is still the placeholder (%s): set it to where you "
            "publish docs/users.md, which `cf marketplace -e %s` shows app developers",
            service,
            catalog_path,
            PLACEHOLDER_ORG,
            service,
            extra={"catalog_path": str(catalog_path)},
        )


def log_identity(identity: CallerIdentity) -> None:
    log.info(
        "AWS account %s, broker identity %s",
        identity.account_id,
        identity.arn,
        extra={"aws_account_id": identity.account_id, "aws_identity_arn": identity.arn},
    )


def _start_local(environ: MutableMapping[str, str]) -> Settings:
    # Imported here: it brings boto3 (and urllib3), which must not load before gevent patches.
    from broker.local import backend

    made_up = not environ.get("BROKER_USERNAME") or not environ.get("BROKER_PASSWORD")
    if made_up:
        environ["BROKER_USERNAME"] = environ.get("BROKER_USERNAME") or "broker"
        environ["BROKER_PASSWORD"] = environ.get("BROKER_PASSWORD") or backend.made_up_secret()
    environ.setdefault("AWS_REGION", US_EAST_1)
    environ.setdefault("ALLOWED_KMS_KEY_ARNS", LOCAL_KMS_KEY)
    environ.setdefault("ALLOWED_EXTERNAL_ACCOUNT_IDS", LOCAL_EXTERNAL_ACCOUNT)
    # Check the naming settings before starting anything.
    checked = from_env({**environ, "AWS_ACCESS_KEY_ID": "check", "AWS_SECRET_ACCESS_KEY": "check"})
    try:
        port = int(environ.get("LOCAL_AWS_PORT", DEFAULT_LOCAL_AWS_PORT))
    except ValueError:
        raise SettingsError("LOCAL_AWS_PORT must be a port number") from None
    backend.start_moto(port)
    endpoint = f"http://127.0.0.1:{port}"
    identity = backend.create_broker_identity(endpoint, checked)
    backend.set_enforcement(endpoint, enforce=True)
    environ["AWS_ENDPOINT_URL"] = endpoint
    environ["AWS_ACCESS_KEY_ID"] = identity.access_key_id
    environ["AWS_SECRET_ACCESS_KEY"] = identity.secret_access_key
    environ["IAM_PERMISSIONS_BOUNDARY_ARN"] = identity.permissions_boundary_arn
    settings = from_env(environ)
    _print_welcome(settings, environ.get("PORT", "8080"), show_password=made_up)
    return settings


def _print_welcome(settings: Settings, port: str, *, show_password: bool) -> None:
    password = settings.broker_password if show_password else "$BROKER_PASSWORD"
    broker = f"http://{settings.broker_username}:{password}@127.0.0.1:{port}"
    print(
        f"""
s3-broker: embedded local AWS (moto, IAM enforced, everything in memory) at {settings.aws_endpoint_url}
s3-broker: broker at http://127.0.0.1:{port}  user {settings.broker_username}  password {password}
  export B={broker}
  curl -s -H 'X-Broker-API-Version: 2.17' {broker}/v2/catalog
  curl -s -X PUT -H 'X-Broker-API-Version: 2.17' -H 'Content-Type: application/json' \\
    {broker}/v2/service_instances/11111111-2222-3333-4444-555555555555 \\
    -d '{{"service_id":"2b7a1f4e-6c1d-4a8e-9f3b-5d2c8e0a7b61","plan_id":"8f1e3c2a-4b5d-4e6f-8a7b-9c0d1e2f3a41","organization_guid":"org","space_guid":"space"}}'
  (README.md walks through binding and using the key with the AWS CLI)
s3-broker: KMS keys users may name in kms_key_arn: {", ".join(settings.allowed_kms_key_arns) or "none"}
""",
        flush=True,
    )


def main() -> None:
    """`python -m broker`: serve with gunicorn exactly as the Procfile does."""
    from gunicorn.app.wsgiapp import run

    sys.argv = ["gunicorn", "--config", "python:broker.server.gunicorn_config", "broker.http.app:create_app()"]
    os.environ.setdefault("PORT", "8080")
    try:
        run()
    except KeyboardInterrupt:  # Ctrl-C while the master starts, before gunicorn handles signals itself
        raise SystemExit(130) from None
