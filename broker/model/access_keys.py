"""An IAM access key as the broker hands it out, and as it lists one (without its secret)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str = field(repr=False)


@dataclass(frozen=True)
class KeyInfo:
    """An existing access key, without its secret (AWS shows a secret only once)."""

    access_key_id: str
    created: datetime
