"""Change ids for requests that do not bring their own."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def new_change_id(now: datetime | None = None) -> str:
    """`CHG-YYYYMMDD-XXXXXX`: readable, sortable by day, unique enough to never collide."""
    now = now or datetime.now(UTC)
    return f"CHG-{now:%Y%m%d}-{secrets.token_hex(3).upper()}"
