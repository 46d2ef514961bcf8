"""botocore's data, kept to the services the broker's clients use.

botocore reads endpoints.json (every service of every partition: about 7 MiB of objects once
parsed) to make a client, and its session's loader keeps it for the life of the process. The
broker only ever makes S3, IAM and STS clients, so the loader here keeps those services' entries
and lets the rest go as soon as the file is read. Which endpoint a request goes to is decided by
each service's own endpoint rules, which this leaves alone.
"""

from __future__ import annotations

import os
from typing import Any

import botocore.session
from botocore.loaders import Loader

SERVICES = frozenset({"s3", "iam", "sts"})


def keep_services(endpoints: dict[str, Any], services: frozenset[str] = SERVICES) -> None:
    """Drop, in place, every service but `services` from each partition of an endpoints.json document."""
    for partition in endpoints.get("partitions", []):
        listed = partition.get("services")
        if isinstance(listed, dict):
            partition["services"] = {name: entry for name, entry in listed.items() if name in services}


class LeanLoader(Loader):
    def list_available_services(self, type_name: str) -> list[str]:
        # botocore lists all ~400 service directories (a stat each) to check that a name exists;
        # only the broker's services are ever asked for.
        return [name for name in sorted(SERVICES) if self.list_api_versions(name, type_name)]

    def load_data_with_path(self, name: str) -> tuple[Any, str]:
        # The base class caches what it returns; trimming the same object trims the cached copy.
        data, path = super().load_data_with_path(name)
        if name == "endpoints" and isinstance(data, dict):
            keep_services(data)
        return data, path


def lean_session() -> botocore.session.Session:
    """A botocore session whose loader trims the endpoint table; AWS_DATA_PATH still honoured."""
    session = botocore.session.get_session()
    search = session.get_config_variable("data_path")
    paths = [os.path.expanduser(os.path.expandvars(p)) for p in search.split(os.pathsep)] if search else []
    session.register_component("data_loader", LeanLoader(extra_search_paths=paths))
    return session
