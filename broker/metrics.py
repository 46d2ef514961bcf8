"""Prometheus metrics of the broker's requests, one registry per app."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "s3_broker_requests", "OSB requests answered", ["endpoint", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "s3_broker_request_seconds", "Time to answer an OSB request", ["endpoint"], registry=self.registry
        )

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint=endpoint, status=str(status)).inc()
        self.latency.labels(endpoint=endpoint).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
