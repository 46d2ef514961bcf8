"""When a key that expires stops working, and when its binding should be renewed (pure functions).

AWS enforces the end through the key's policy (aws:CurrentTime); OSB 2.17 tells the platform
through the binding's metadata: `expires_at`, and `renew_before`, the time to rotate by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# Rotate in the last fifth of a key's life, but no earlier than this before it ends.
RENEW_SHARE = 5
MAX_RENEW_AHEAD = timedelta(days=30)
# How IAM policies and the broker's tag spell a time; OSB asks for yyyy-mm-ddThh:mm:ss.ssZ.
IAM_FORM = "%Y-%m-%dT%H:%M:%SZ"
OSB_FORM = "%Y-%m-%dT%H:%M:%S.00Z"


@dataclass(frozen=True)
class Expiry:
    expires_at: datetime
    days: int

    @classmethod
    def after(cls, now: datetime, days: int) -> Expiry:
        return cls((now + timedelta(days=days)).astimezone(UTC).replace(microsecond=0), days)

    @classmethod
    def parse(cls, text: str, days: int) -> Expiry:
        """Read back what `iam_time` wrote; ValueError for anything else."""
        return cls(datetime.strptime(text, IAM_FORM).replace(tzinfo=UTC), days)

    @property
    def renew_before(self) -> datetime:
        return self.expires_at - min(timedelta(days=self.days) / RENEW_SHARE, MAX_RENEW_AHEAD)

    @property
    def iam_time(self) -> str:
        return self.expires_at.strftime(IAM_FORM)

    def metadata(self) -> dict[str, str]:
        """The binding's OSB metadata object."""
        return {"expires_at": self.expires_at.strftime(OSB_FORM), "renew_before": self.renew_before.strftime(OSB_FORM)}
