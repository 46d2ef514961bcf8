"""Ask AWS whether it accepts a new access key yet: one signed ListObjectsV2 made with that key.

A boto3 client per key would cost about 10 ms of CPU to build (held under the GIL, so 50
binds at once queue behind each other); a request signed with botocore's own SigV4 signer and
sent through one shared connection pool costs a fraction of that. Like boto3, it goes through
the proxy that HTTPS_PROXY / HTTP_PROXY name unless NO_PROXY exempts the host (botocore's
own reading of those variables, per request, so both always agree).
"""

from __future__ import annotations

import re
import threading
from urllib.parse import quote, urlencode, urlsplit

import urllib3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import get_environ_proxies

from broker import deadlines
from broker.aws.clients import CONNECT_TIMEOUT
from broker.settings import Settings, dns_suffix, partition_of

ERROR_CODE = re.compile(rb"<Code>([^<]+)</Code>")


class KeyProbe:
    def __init__(
        self, region: str, endpoint_url: str | None, pool_size: int, read_timeout: float = Settings.aws_read_timeout
    ) -> None:
        self.region = region
        self.read_timeout = read_timeout
        self.endpoint_url = endpoint_url.rstrip("/") if endpoint_url else None
        self.pool_size = pool_size
        self.timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT, read=read_timeout)
        self.http = urllib3.PoolManager(maxsize=pool_size, timeout=self.timeout, retries=False)
        self._proxied: dict[str, urllib3.ProxyManager] = {}
        self._lock = threading.Lock()

    def pool_for(self, url: str) -> urllib3.PoolManager:
        """The direct pool, or the pool of the proxy the environment names for this URL's scheme and host."""
        proxy = get_environ_proxies(url).get(urlsplit(url).scheme)
        if not proxy:
            return self.http
        with self._lock:
            if proxy not in self._proxied:
                self._proxied[proxy] = urllib3.ProxyManager(
                    proxy, maxsize=self.pool_size, timeout=self.timeout, retries=False
                )
            return self._proxied[proxy]

    def url(self, bucket: str, prefix: str) -> str:
        query = urlencode({"list-type": "2", "max-keys": "1", "prefix": prefix}, quote_via=quote)
        if self.endpoint_url:  # a local or S3-compatible endpoint: path-style
            return f"{self.endpoint_url}/{bucket}?{query}"
        return f"https://{bucket}.s3.{self.region}.{dns_suffix(partition_of(self.region))}/?{query}"

    def refusal(self, access_key_id: str, secret_access_key: str, bucket: str, prefix: str) -> str | None:
        """None if AWS served the request with this key; otherwise the error code it answered.

        Raises urllib3's HTTPError when AWS could not be reached, DeadlineExceeded when the
        request's time is up.
        """
        left = deadlines.check("waiting for AWS to accept the new access key") or self.read_timeout
        timeout = urllib3.Timeout(connect=min(CONNECT_TIMEOUT, left), read=min(self.read_timeout, left))
        request = AWSRequest(method="GET", url=self.url(bucket, prefix))
        S3SigV4Auth(Credentials(access_key_id, secret_access_key), "s3", self.region).add_auth(request)
        response = self.pool_for(request.url).request(
            "GET", request.url, headers=dict(request.headers.items()), timeout=timeout
        )
        if response.status == 200:
            return None
        match = ERROR_CODE.search(response.data)
        return match.group(1).decode() if match else f"HTTP {response.status}"
