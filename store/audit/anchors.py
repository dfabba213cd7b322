"""Anchors: signed checkpoints of every audit chain's head. A chain verifies on its own even
when its last records are cut off; the latest anchor still names the head it had, so truncation
is found. Signed with Ed25519 (the `cryptography` package); verification uses the configured
public key, never one read from the database."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from infra.audit_key import public_b64
from store.audit.read import AuditVerification, chain_heads, chain_ids, record_at, verify_chain
from store.tables import AuditAnchorRow


class StoreVerification(BaseModel):
    intact: bool
    chains: int
    records: int
    broken: list[AuditVerification]
    anchor: str  # what the latest anchor says
    problems: list[str]


def _digest(heads: dict[str, list]) -> str:
    return hashlib.sha256(json.dumps(heads, sort_keys=True).encode()).hexdigest()


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_b64(key).encode()).hexdigest()[:16]


def anchor(engine: Engine, key: Ed25519PrivateKey) -> AuditAnchorRow:
    """Checkpoint every chain's head now, signed."""
    heads = {change: [seq, digest] for change, (seq, digest) in chain_heads(engine).items()}
    digest = _digest(heads)
    row = AuditAnchorRow(
        at=datetime.now(UTC),
        heads=json.dumps(heads, sort_keys=True),
        digest=digest,
        key_id=key_id(key.public_key()),
        signature=key.sign(digest.encode()).hex(),
    )
    with Session(engine) as session:
        session.add(row)
        session.commit()
        session.refresh(row)
    return row


def latest_anchor(engine: Engine) -> AuditAnchorRow | None:
    with Session(engine) as session:
        return session.exec(
            select(AuditAnchorRow).order_by(AuditAnchorRow.id.desc())  # type: ignore[union-attr]
        ).first()


def check_anchor(engine: Engine, row: AuditAnchorRow, key: Ed25519PublicKey | None) -> list[str]:
    """What is wrong with the store against this anchor (nothing: an empty list)."""
    problems = []
    heads = json.loads(row.heads)
    if _digest(heads) != row.digest:
        problems.append(f"anchor {row.id} was altered (its heads do not match its digest)")
    if key is None:
        problems.append("no audit public key is configured: the anchors' signatures are unchecked")
    else:
        try:
            key.verify(bytes.fromhex(row.signature), row.digest.encode())
        except (InvalidSignature, ValueError):
            problems.append(f"anchor {row.id} is not signed by the configured audit key")
    for change_id, (seq, digest) in sorted(heads.items()):
        found = record_at(engine, change_id, seq)
        if found is None:
            problems.append(
                f"{change_id}: record {seq}, its last at the checkpoint of "
                f"{row.at:%Y-%m-%d %H:%M} UTC, is gone (the chain was truncated)"
            )
        elif found.hash != digest:
            problems.append(f"{change_id}: record {seq} differs from its checkpoint")
    return problems


def verify_store(
    engine: Engine, key: Ed25519PublicKey | None, change_id: str | None = None
) -> StoreVerification:
    """Every chain (or one), and the latest anchor."""
    ids = [change_id] if change_id else chain_ids(engine)
    checks = [verify_chain(engine, cid) for cid in ids]
    row = latest_anchor(engine)
    problems = [] if row is None else check_anchor(engine, row, key)
    if change_id:
        problems = [p for p in problems if p.startswith(f"{change_id}:") or "anchor" in p]
    broken = [c for c in checks if not c.intact]
    return StoreVerification(
        intact=not broken and not problems,
        chains=len(checks),
        records=sum(c.events for c in checks),
        broken=broken,
        anchor="none yet" if row is None else f"{row.id} of {row.at:%Y-%m-%d %H:%M} UTC",
        problems=problems,
    )
