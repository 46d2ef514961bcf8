"""Behind an egress proxy, the key probe goes through it as boto3 does, and NO_PROXY exempts hosts for both."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from broker.aws.probe import KeyProbe
from testing.harness import Backend, BrokerServer, new_id

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "transfer-encoding"}


class CountingProxy(ThreadingHTTPServer):
    """A plain HTTP forward proxy on loopback that remembers the URLs it forwarded."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ForwardingHandler)
        self.seen: list[str] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def probes(self) -> list[str]:
        with self.lock:
            return [url for url in self.seen if "list-type=2" in url]


class ForwardingHandler(BaseHTTPRequestHandler):
    server: CountingProxy

    def _forward(self) -> None:
        target = urlsplit(self.path)  # a proxy receives the absolute URL
        with self.server.lock:
            self.server.seen.append(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream = http.client.HTTPConnection(target.hostname or "", target.port or 80, timeout=30)
        path = target.path + (f"?{target.query}" if target.query else "")
        upstream.request(self.command, path, body=body or None, headers=headers)
        answer = upstream.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        upstream.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[CountingProxy]:
    server = CountingProxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def test_binds_go_through_the_proxy(
    backend: Backend, proxy: CountingProxy, no_proxy_settings: pytest.MonkeyPatch
) -> None:
    no_proxy_settings.setenv("HTTP_PROXY", proxy.url)
    with BrokerServer(backend.settings()) as broker:
        osb = broker.osb()
        osb.session.trust_env = False  # the test's own calls to the broker go direct
        instance_id = new_id()
        assert osb.provision(instance_id).status_code == 201
        bound = osb.bind(instance_id, new_id())
        assert bound.status_code == 201, bound.text
    assert len(proxy.probes()) >= 1  # the key probe
    bucket_calls = [url for url in proxy.seen if f"/cf-s3-{instance_id}" in url and "list-type=2" not in url]
    assert bucket_calls  # and boto3's own calls (CreateBucket, ...)
    assert all(url.startswith(backend.moto.endpoint) for url in proxy.seen)


def test_no_proxy_exempts_the_endpoint_for_the_probe_too(
    backend: Backend, proxy: CountingProxy, no_proxy_settings: pytest.MonkeyPatch
) -> None:
    no_proxy_settings.setenv("HTTP_PROXY", proxy.url)
    no_proxy_settings.setenv("NO_PROXY", "127.0.0.1")
    with BrokerServer(backend.settings()) as broker:
        osb = broker.osb()
        osb.session.trust_env = False
        instance_id = new_id()
        assert osb.provision(instance_id).status_code == 201
        assert osb.bind(instance_id, new_id()).status_code == 201
    assert proxy.seen == []


def test_the_probe_picks_the_proxy_for_the_scheme_and_host(no_proxy_settings: pytest.MonkeyPatch) -> None:
    probe = KeyProbe("eu-west-2", None, pool_size=2)
    assert probe.pool_for("https://b.s3.eu-west-2.amazonaws.com/") is probe.http
    no_proxy_settings.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    proxied = probe.pool_for("https://b.s3.eu-west-2.amazonaws.com/")
    assert proxied is not probe.http
    assert proxied.proxy is not None and proxied.proxy.host == "proxy.internal"
    assert probe.pool_for("https://other.s3.eu-west-2.amazonaws.com/") is proxied  # one pool per proxy
    assert probe.pool_for("http://127.0.0.1:9/") is probe.http  # HTTPS_PROXY is for https only
    no_proxy_settings.setenv("NO_PROXY", ".amazonaws.com")
    assert probe.pool_for("https://b.s3.eu-west-2.amazonaws.com/") is probe.http
