"""The catalog leads `cf marketplace -e s3` to the users' guide."""

from __future__ import annotations

from testing.harness import OSBClient


def test_the_service_metadata_names_the_users_guide(osb: OSBClient) -> None:
    (service,) = osb.catalog().json()["services"]
    assert "documentationUrl" not in service  # not an OSB field of a service; Cloud Foundry reads metadata
    url = service["metadata"]["documentationUrl"]
    assert url.startswith("https://") and url.endswith("/docs/users.md")
