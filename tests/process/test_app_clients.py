"""Credentials used by processes of their own, as apps use them: the AWS CLI, and apps that read VCAP_SERVICES."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testing.clients import APPS, aws_cli, bind
from testing.harness import OSBClient

MIB = 1024 * 1024


def test_aws_cli_with_read_write_and_read_only_keys(osb: OSBClient, instance: str, tmp_path: Path) -> None:
    writer = bind(osb, instance)
    reader = bind(osb, instance, {"permissions": "read-only"})
    bucket = f"s3://{writer['bucket']}"
    source = tmp_path / "site"
    source.mkdir()
    (source / "index.html").write_text("<h1>hi</h1>")
    (source / "big.bin").write_bytes(os.urandom(9 * 1024 * 1024))  # multipart upload
    copied = aws_cli(writer, "cp", str(source / "index.html"), f"{bucket}/index.html")
    assert copied.returncode == 0, copied.stderr
    synced = aws_cli(writer, "sync", str(source), f"{bucket}/site")
    assert synced.returncode == 0, synced.stderr
    listed = aws_cli(reader, "ls", f"{bucket}/site/")
    assert listed.returncode == 0, listed.stderr
    assert "index.html" in listed.stdout and "big.bin" in listed.stdout
    fetched = aws_cli(reader, "cp", f"{bucket}/index.html", str(tmp_path / "back.html"))
    assert fetched.returncode == 0, fetched.stderr
    assert (tmp_path / "back.html").read_text() == "<h1>hi</h1>"
    denied = aws_cli(reader, "cp", str(source / "index.html"), f"{bucket}/nope.html")
    assert denied.returncode != 0
    assert "AccessDenied" in denied.stderr
    removed = aws_cli(writer, "rm", f"{bucket}/index.html")
    assert removed.returncode == 0, removed.stderr


def test_aws_cli_uploads_with_a_write_only_key_and_cannot_read_list_or_delete(
    osb: OSBClient, instance: str, tmp_path: Path
) -> None:
    c = bind(osb, instance, {"permissions": "write-only"})
    bucket = f"s3://{c['bucket']}"
    small, big = tmp_path / "report.csv", tmp_path / "dump.bin"
    small.write_text("a,b\n")
    big.write_bytes(os.urandom(9 * MIB))  # above the CLI's 8 MiB threshold: a multipart upload
    for source in (small, big):
        copied = aws_cli(c, "cp", str(source), f"{bucket}/{source.name}")
        assert copied.returncode == 0, copied.stderr
    for args in (
        ("ls", f"{bucket}/"),
        ("cp", f"{bucket}/report.csv", str(tmp_path / "back.csv")),
        ("rm", f"{bucket}/report.csv"),
    ):
        denied = aws_cli(c, *args)
        assert denied.returncode != 0, args
        assert "AccessDenied" in denied.stderr or "403" in denied.stderr, denied.stderr


@pytest.mark.parametrize("style", ["govuk", "cloudgov"])
def test_an_app_reading_vcap_services_stores_and_fetches_a_file(osb: OSBClient, instance: str, style: str) -> None:
    credentials = bind(osb, instance)
    vcap = {"s3": [{"name": "my-bucket", "label": "s3", "plan": "basic", "credentials": credentials}]}
    env = {**os.environ, "VCAP_SERVICES": json.dumps(vcap)}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, str(APPS / "vcap_app.py"), style, f"{style}.txt", f"stored by {style}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"stored by {style}"
