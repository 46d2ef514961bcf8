"""A stand-in for the `cf` CLI in the docs' tests: each cf command becomes the OSB request the
Cloud Controller would send the broker, and prints what cf v8 prints for it.

It keeps the names of instances, service keys and app bindings (which the Cloud Controller
would) in a JSON file: CF_STATE. The broker is at CF_BROKER_URL with CF_BROKER_AUTH (user:pass).
Only what the docs use is here.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import yaml

from testing.procfile import procfile_command

ORG = "0c6a3e59-1b8f-4bd4-9a07-1b0f8c2a6d11"
SPACE = "7e1d2c3b-4a59-4687-9f0e-1d2c3b4a5968"
USER = "developer@example.com"


class CfError(Exception):
    """What cf prints before FAILED."""


class Broker:
    def __init__(self, state: State) -> None:
        registered = state.data.get("broker", {})
        routed = state.data.get("apps", {}).get(registered.get("app"), {}).get("url")  # the route of a pushed broker
        self.url = (routed or os.environ.get("CF_BROKER_URL", "")).rstrip("/")
        user, _, password = registered.get("auth", os.environ.get("CF_BROKER_AUTH", "")).partition(":")
        self.session = requests.Session()
        self.session.auth = (user, password)
        self.session.headers["X-Broker-API-Version"] = "2.17"
        self._catalog: list[dict[str, Any]] | None = None

    @property
    def catalog(self) -> list[dict[str, Any]]:
        if self._catalog is None:
            self._catalog = self.request("GET", "/v2/catalog")["services"]
        return self._catalog

    def request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.session.request(method, self.url + path, timeout=120, **kwargs)
        if response.status_code >= 400:
            body = response.json() if response.content else {}
            raise CfError(f"Service broker error: {body.get('description', response.reason)}")
        return response.json() if response.content else {}

    def service(self, name: str) -> dict[str, Any]:
        for service in self.catalog:
            if service["name"] == name:
                return service
        raise CfError(f"Service offering '{name}' not found.")

    def plan(self, service: dict[str, Any], name: str) -> dict[str, Any]:
        for plan in service["plans"]:
            if plan["name"] == name or plan["id"] == name:
                return plan
        raise CfError(f"The plan {name} could not be found for service {service['name']}")


class State:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, dict[str, Any]] = (
            json.loads(path.read_text()) if path.exists() else {"instances": {}, "bindings": {}}
        )

    def save(self) -> None:
        self.path.write_text(json.dumps(self.data))

    def instance(self, name: str) -> dict[str, Any]:
        if name not in self.data["instances"]:
            raise CfError(f"Service instance '{name}' not found")
        return self.data["instances"][name]


def parameters(value: str | None) -> dict[str, Any] | None:
    """cf's -c: inline JSON, or the path of a JSON file."""
    if value is None:
        return None
    path = Path(value)
    text = path.read_text() if path.is_file() else value
    try:
        return json.loads(text)
    except ValueError:
        raise CfError(
            "Invalid configuration provided for -c flag. Please provide a valid JSON object "
            "or path to a file containing a valid JSON object."
        ) from None


def binding_body(instance: dict[str, Any], params: dict[str, Any] | None, app: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service_id": instance["service_id"],
        "plan_id": instance["plan_id"],
        "context": {"platform": "cloudfoundry", "organization_guid": ORG, "space_guid": SPACE},
    }
    if app:
        app_guid = str(uuid.uuid5(uuid.NAMESPACE_DNS, app))
        body["app_guid"] = app_guid
        body["bind_resource"] = {"app_guid": app_guid}
    if params is not None:
        body["parameters"] = params
    return body


def run(arguments: list[str], broker: Broker, state: State) -> str:
    command, rest = arguments[0], arguments[1:]
    parser = argparse.ArgumentParser(prog=f"cf {command}")
    parser.add_argument("-c")
    parser.add_argument("-p")
    parser.add_argument("-f", action="store_true")
    parser.add_argument("--guid", action="store_true")
    parser.add_argument("--params", action="store_true")
    parser.add_argument("--no-start", action="store_true")
    parser.add_argument("positional", nargs="*")
    options = parser.parse_args(rest)
    names = options.positional
    if command == "create-service":
        service_name, plan_name, name = names
        service = broker.service(service_name)
        plan = broker.plan(service, plan_name)
        guid = str(uuid.uuid4())
        body = {
            "service_id": service["id"],
            "plan_id": plan["id"],
            "organization_guid": ORG,
            "space_guid": SPACE,
            "context": {"platform": "cloudfoundry", "organization_guid": ORG, "space_guid": SPACE},
        }
        if (given := parameters(options.c)) is not None:
            body["parameters"] = given
        broker.request("PUT", f"/v2/service_instances/{guid}", json=body)
        state.data["instances"][name] = {"guid": guid, "service_id": service["id"], "plan_id": plan["id"]}
        return f"Creating service instance {name} in org docs / space docs as {USER}...\nOK"
    if command == "update-service":
        (name,) = names
        instance = state.instance(name)
        body = {"service_id": instance["service_id"]}
        if options.p:
            instance["plan_id"] = body["plan_id"] = broker.plan(
                next(s for s in broker.catalog if s["id"] == instance["service_id"]), options.p
            )["id"]
        if (given := parameters(options.c)) is not None:
            body["parameters"] = given
        broker.request("PATCH", f"/v2/service_instances/{instance['guid']}", json=body)
        return f"Updating service instance {name} as {USER}...\nOK"
    if command == "service":
        (name,) = names
        instance = state.instance(name)
        if options.guid:
            return instance["guid"]
        fetched = broker.request("GET", f"/v2/service_instances/{instance['guid']}")
        if options.params:
            return json.dumps(fetched.get("parameters", {}), indent=2)
        return f"name:            {name}\nguid:            {instance['guid']}"
    if command == "delete-service":
        (name,) = names
        instance = state.instance(name)
        query = {"service_id": instance["service_id"], "plan_id": instance["plan_id"]}
        broker.request("DELETE", f"/v2/service_instances/{instance['guid']}", params=query)
        del state.data["instances"][name]
        return f"Deleting service {name} in org docs / space docs as {USER}...\nOK"
    if command in ("create-service-key", "bind-service"):
        app, name, key = (
            (None, names[0], names[1]) if command == "create-service-key" else (names[0], names[1], names[0])
        )
        instance = state.instance(name)
        guid = str(uuid.uuid4())
        path = f"/v2/service_instances/{instance['guid']}/service_bindings/{guid}"
        answer = broker.request("PUT", path, json=binding_body(instance, parameters(options.c), app))
        state.data["bindings"][f"{name}/{key}"] = {"guid": guid, "credentials": answer["credentials"]}
        if app:
            return f"Binding service instance {name} to app {app} in org docs / space docs as {USER}...\nOK"
        return f"Creating service key {key} for service instance {name} as {USER}...\nOK"
    if command == "service-key":
        name, key = names
        binding = state.data["bindings"].get(f"{name}/{key}")
        if binding is None:
            raise CfError(f"No service key {key} found for service instance {name}")
        credentials = json.dumps({"credentials": binding["credentials"]}, indent=2)
        return f"Getting key {key} for service instance {name} as {USER}...\n\n{credentials}"
    if command == "env":
        (app,) = names
        services = [
            {"name": key.split("/")[0], "label": "s3", "credentials": binding["credentials"]}
            for key, binding in state.data["bindings"].items()
            if key.endswith(f"/{app}")
        ]
        return json.dumps({"VCAP_SERVICES": {"s3": services}}, indent=2)
    if command in ("delete-service-key", "unbind-service"):
        name, key = (names[0], names[1]) if command == "delete-service-key" else (names[1], names[0])
        instance = state.instance(name)
        binding = state.data["bindings"].pop(f"{name}/{key}")
        query = {"service_id": instance["service_id"], "plan_id": instance["plan_id"]}
        broker.request(
            "DELETE", f"/v2/service_instances/{instance['guid']}/service_bindings/{binding['guid']}", params=query
        )
        return "OK"
    if command == "restage":
        return f"Restaging app {names[0]} in org docs / space docs as {USER}...\nOK"
    if command in PLATFORM_COMMANDS:
        return PLATFORM_COMMANDS[command](names, options, broker, state)
    raise CfError(f"'{command}' is not a cf command this stand-in knows.")


# --- what an operator does: push the broker as Cloud Foundry would run it, and register it -------


def set_env(names: list[str], options: argparse.Namespace, broker: Broker, state: State) -> str:
    app, name, value = names
    state.data.setdefault("apps", {}).setdefault(app, {"env": {}})["env"][name] = value
    return f"Setting env variable {name} for app {app} in org docs / space docs as {USER}...\nOK"


def push(names: list[str], options: argparse.Namespace, broker: Broker, state: State) -> str:
    """Start the Procfile's command with the manifest's and cf set-env's variables, as a CF container would."""
    manifest = yaml.safe_load(Path("manifest.yml").read_text())["applications"][0]
    app = state.data.setdefault("apps", {}).setdefault(manifest["name"], {"env": {}})
    stop(app)
    if options.no_start:
        return f"Pushing app {manifest['name']}...\nOK"
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BROKER_", "CF_"))},
        **{k: str(v) for k, v in manifest.get("env", {}).items()},
        **app["env"],
        "AWS_ENDPOINT_URL": os.environ["CF_AWS_ENDPOINT_URL"],  # the platform's AWS: the tests' local one
        "VCAP_APPLICATION": json.dumps({"application_name": manifest["name"]}),
        "PORT": str(port),
    }
    # The buildpack's install: a virtualenv with requirements.txt alone (testing/production_venv.py).
    python = Path(os.environ["CF_APP_PYTHON"])
    env["PATH"] = f"{python.parent}:{env.get('PATH', '')}"
    process = subprocess.Popen(
        procfile_command("--bind", f"127.0.0.1:{port}", python=python),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ["CF_APP_LOG"], "a"),  # noqa: SIM115 - the app outlives this command
        start_new_session=True,
    )
    app.update(pid=process.pid, url=f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CfError(
                f"App {manifest['name']} crashed at start (see its logs: cf logs {manifest['name']} --recent)"
            )
        try:
            if requests.get(f"{app['url']}/health", timeout=2).status_code == 200:
                return f"Pushing app {manifest['name']}...\nroutes: {app['url']}\nOK"
        except requests.RequestException:
            time.sleep(0.2)
    raise CfError("Start app timeout")


def stop(app: dict[str, Any]) -> None:
    if app.get("pid"):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(app["pid"], signal.SIGTERM)
        app["pid"] = None


def restart(names: list[str], options: argparse.Namespace, broker: Broker, state: State) -> str:
    options.no_start = False
    return push(names, options, broker, state).replace("Pushing", "Starting")


def create_service_broker(names: list[str], options: argparse.Namespace, broker: Broker, state: State) -> str:
    """The Cloud Controller fetches the catalog with the credentials it was given."""
    _name, user, password, url = names
    # The platform's router: https://APP.DOMAIN reaches the app of that name.
    app = urlsplit(url).hostname.split(".")[0]  # type: ignore[union-attr]
    routed = state.data.get("apps", {}).get(app, {}).get("url")
    if not routed:
        raise CfError(f"The service broker could not be reached: {url}")
    state.data["broker"] = {"app": app, "auth": f"{user}:{password}"}
    services = Broker(state).catalog
    return f"Creating service broker {names[0]} as {USER}...\n{len(services)} service(s) offered\nOK"


def enable_service_access(names: list[str], options: argparse.Namespace, broker: Broker, state: State) -> str:
    service = broker.service(names[0])
    return f"Enabling access to all plans of service offering {service['name']} for all orgs as {USER}...\nOK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PLATFORM_COMMANDS = {
    "set-env": set_env,
    "push": push,
    "restart": restart,
    "start": restart,
    "create-service-broker": create_service_broker,
    "enable-service-access": enable_service_access,
}


def main() -> int:
    state = State(Path(os.environ["CF_STATE"]))
    try:
        print(run(sys.argv[1:], Broker(state), state))
    except CfError as error:
        print(f"{error}\nFAILED")
        return 1
    finally:
        state.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
