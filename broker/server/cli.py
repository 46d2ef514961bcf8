"""`python -m broker`: serve (no arguments), or the operator's commands.

    python -m broker                      serve with gunicorn, as the Procfile does
    python -m broker policy boundary      the binding users' permissions boundary, filled in
    python -m broker policy broker        the broker's own IAM policy, filled in
    python -m broker check                preflight: the settings as on Cloud Foundry, the key, its rights, the boundary
    python -m broker --version            the broker's version
    python -m broker list INSTANCE_ID     the bucket and the binding users of one instance
    python -m broker upgrade [--all]      the instances behind this release; --all upgrades them
    python -m broker reconcile [--fix]    what needs a person (--json for machines); --fix removes leftovers

The commands read the same environment variables as the broker. The account id comes from STS
GetCallerIdentity with the configured credentials, or from --account-id.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace

from broker import __version__
from broker.policy import account_policies
from broker.settings import Settings, SettingsError, from_env


def account_id(value: str) -> str:
    """An AWS account id as --account-id takes it: 12 digits, since it is written into the policies' ARNs."""
    if not re.fullmatch(r"[0-9]{12}", value):
        raise argparse.ArgumentTypeError(f"{value!r} is not an AWS account id (12 digits)")
    return value


def operator_settings(environ: Mapping[str, str]) -> Settings:
    """The broker's settings for an operator command: the broker's own basic auth is not needed."""
    filled = {"BROKER_USERNAME": "-", "BROKER_PASSWORD": "-", **{k: v for k, v in environ.items() if v}}
    filled.pop("VCAP_APPLICATION", None)
    return from_env(filled)


def caller(settings: Settings) -> tuple[str, str]:
    """The account id and ARN of the configured AWS credentials."""
    from broker.aws.identity import caller_identity

    identity = caller_identity(settings)
    return identity.account_id, identity.arn


def print_policy(settings: Settings, which: str, account_id: str | None) -> None:
    facts = account_policies.facts_for(settings, account_id or caller(settings)[0])
    document = account_policies.boundary_policy(facts) if which == "boundary" else account_policies.broker_policy(facts)
    print(json.dumps(document, indent=2))


def list_instance(settings: Settings, instance_id: str) -> int:
    from broker.aws.buckets import Buckets
    from broker.aws.clients import make_clients

    clients = make_clients(settings)
    settings = replace(settings, account_id=caller(settings)[0])  # account-regional bucket names hold it
    bucket = settings.bucket_name(instance_id)
    tags = Buckets(clients.s3, settings.aws_region, pool=None).read_tags(bucket)  # type: ignore[arg-type]
    print(f"bucket {bucket}: {'absent' if tags is None else 'present'}")
    for tag in tags or []:
        print(f"  tag {tag['Key']} = {tag['Value']}")
    pages = clients.iam.get_paginator("list_users").paginate(PathPrefix=settings.user_path(instance_id))
    for user in (user for page in pages for user in page["Users"]):
        print(f"binding user {user['UserName']} ({user['Arn']})")
    return 0


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m broker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"s3-broker {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    policy = commands.add_parser("policy", help="print an IAM document with the settings filled in")
    policy.add_argument("which", choices=["boundary", "broker"])
    policy.add_argument(
        "--account-id", type=account_id, help="the AWS account id (default: asked of STS with the configured key)"
    )
    commands.add_parser("check", help="preflight: settings, key, region, boundary and the key's rights; 1 on a failure")
    listing = commands.add_parser("list", help="what the broker made for one instance")
    listing.add_argument("instance_id")
    upgrade = commands.add_parser("upgrade", help="the instances behind this release; --all upgrades them")
    upgrade.add_argument("--all", action="store_true", help="upgrade them, one after another (resumable)")
    upgrade.add_argument("--pause", type=float, default=1.0, help="seconds between two instances (default 1)")
    reconcile = commands.add_parser(
        "reconcile", help="what needs a person; 1 if anything does; --fix removes leftovers"
    )
    reconcile.add_argument("--json", action="store_true", help="JSON for machines instead of the table")
    reconcile.add_argument("--fix", action="store_true", help="remove leftovers: never a bucket with objects")
    return parser.parse_args(argv)


def run(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> int:
    arguments = parse(argv)
    try:
        settings = operator_settings(environ)
    except SettingsError as error:
        print(f"s3-broker: {error}", file=sys.stderr)
        return 2
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        if arguments.command == "policy":
            print_policy(settings, arguments.which, arguments.account_id)
            return 0
        if arguments.command == "check":
            from broker.server import preflight

            return preflight.run(environ, settings)
        if arguments.command == "upgrade":
            from broker.server import upgrade_command

            return upgrade_command.run(settings, upgrade=arguments.all, pause=max(arguments.pause, 0.0))
        if arguments.command == "reconcile":
            from broker.server import reconcile_command

            return reconcile_command.run(settings, fix=arguments.fix, json_output=arguments.json)
        return list_instance(settings, arguments.instance_id)
    except (BotoCoreError, ClientError) as error:
        print(f"s3-broker: AWS refused or could not be reached: {error}", file=sys.stderr)
        return 1
