"""Electronic signatures on approvals (21 CFR Part 11 §11.70): the hash of exactly what was
approved (the change at its revision, its impact report and its plan), so a signature cannot be
moved to another record. Pure."""

from __future__ import annotations

import hashlib
import json

from domain.change.request import ChangeRequest


def content_hash(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def revision_hash(
    change_id: str,
    revision: int,
    request: ChangeRequest,
    impact_hash: str | None,
    plan_hash: str | None,
) -> str:
    """SHA-256 over the change id, its revision, the change file as it stands, the impact
    report's own hash and the plan's: any of them changing changes it."""
    body = {
        "change_id": change_id,
        "revision": revision,
        "request": request.model_dump(mode="json"),
        "impact": impact_hash,
        "plan": plan_hash,
    }
    return content_hash(json.dumps(body, sort_keys=True, separators=(",", ":")))
