"""What the preflight's checks answer: a finding (ok, FAIL with what to do, or "not checked" with why),
and the fixes several checks point to."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

OK, FAIL, NOT_CHECKED = "ok", "FAIL", "not checked"
CREATE_BOUNDARY = (
    "python -m broker policy boundary > boundary.json; "
    "aws iam create-policy --policy-name s3-broker-binding-boundary --policy-document file://boundary.json"
)
UPDATE_BROKER_POLICY = (
    "python -m broker policy broker > broker-policy.json; aws iam put-user-policy --user-name BROKER_USER "
    "--policy-name s3-broker --policy-document file://broker-policy.json (BROKER_USER: the key's user, above)"
)


@dataclass(frozen=True)
class Finding:
    status: str
    topic: str
    detail: str
    fix: str = ""


def canonical(document: Any) -> str:
    """A policy document in one form: IAM hands documents back URL-encoded, and key order is free."""
    if isinstance(document, str):
        document = json.loads(urllib.parse.unquote(document))
    return json.dumps(document, sort_keys=True)
