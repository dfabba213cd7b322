"""Signed human input: the API signs every decision, resolution and cancel it has authenticated;
the workflow records only input whose signature verifies.

HMAC-SHA256 over a canonical JSON of the message (its kind, the change id and every field but
the signature). The keys live in the environment of the API and the workers; Temporal only ever
sees the MAC, so a signal or Update sent straight to Temporal cannot pass as a person's decision.
A key ring keeps retired keys so that decisions signed before a rotation still verify on replay.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, Field

MIN_SECRET_BYTES = 16
DECISION = "decision"
RESOLUTION = "resolution"
CANCEL = "cancel"
REVISION = "revision"

M = TypeVar("M", bound=BaseModel)


class Signature(BaseModel):
    """Which key signed (its id, not the key) and the MAC; for an approval, also the signer's
    electronic signature (21 CFR Part 11 §11.50): printed name, meaning, UTC time and the
    SHA-256 of exactly what was approved, all covered by the MAC."""

    key_id: str = Field(default="", max_length=32)
    mac: str = Field(default="", max_length=128)
    printed_name: str | None = Field(default=None, max_length=200)
    meaning: str | None = Field(default=None, max_length=300)
    signed_at: datetime | None = None
    content_hash: str | None = Field(default=None, max_length=64)
    signed_with: list[str] | None = Field(
        default=None,
        max_length=4,
        description="The signature components the signer executed (21 CFR 11.200(a)(1)): "
        '["name", "password"], ["password"], or ["session"] within a page\'s signing session.',
    )

    def manifestation(self) -> dict[str, Any]:
        """The e-signature part (empty for a resolution or cancel, or before e-signatures)."""
        parts = {
            "printed_name": self.printed_name,
            "meaning": self.meaning,
            "signed_at": self.signed_at.isoformat() if self.signed_at else None,
            "content_hash": self.content_hash,
            "signed_with": self.signed_with,
        }
        return {k: v for k, v in parts.items() if v is not None}


class SigningKeyError(ValueError):
    pass


@dataclass(frozen=True)
class SigningKey:
    secret: bytes

    @property
    def key_id(self) -> str:
        """A short public name for the key, derived from it (safe to show and to store)."""
        return hashlib.sha256(b"changeflow-key-id|" + self.secret).hexdigest()[:16]


@dataclass(frozen=True)
class Keyring:
    """The active key (signs) and every key still accepted (verifies)."""

    active: SigningKey
    retired: tuple[SigningKey, ...] = field(default_factory=tuple)

    @classmethod
    def from_secrets(cls, active: str, retired: Iterable[str] = ()) -> Keyring:
        keys = [_key(active), *(_key(s) for s in retired if s.strip())]
        return cls(active=keys[0], retired=tuple(keys[1:]))

    def find(self, key_id: str) -> SigningKey | None:
        for key in (self.active, *self.retired):
            if key.key_id == key_id:
                return key
        return None


def _key(secret: str) -> SigningKey:
    raw = secret.strip().encode()
    if len(raw) < MIN_SECRET_BYTES:
        raise SigningKeyError(
            f"a signing key must be at least {MIN_SECRET_BYTES} bytes "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return SigningKey(raw)


# Optional fields added to signed messages after the first signatures: left out of the signed
# bytes when empty, so that every signature made before they existed still verifies (replay).
LATER_OPTIONAL_FIELDS = frozenset(
    {"evidence", "on_behalf_role", "revision_hash", "meaning", "printed_name", "content_hash"}
)


def canonical(kind: str, change_id: str, message: BaseModel) -> bytes:
    """The exact bytes that are signed: the kind and change id bind the MAC to one purpose and
    one change, so a signature cannot be replayed as another kind of input or on another change."""
    body: dict[str, Any] = message.model_dump(mode="json", exclude={"signature"})
    for name in LATER_OPTIONAL_FIELDS:  # absent: signed as before they existed
        if body.get(name, 0) is None:
            del body[name]
    signature = getattr(message, "signature", None)
    if isinstance(signature, Signature) and signature.manifestation():
        body["esignature"] = signature.manifestation()
    return json.dumps(
        {"kind": kind, "change_id": change_id, "message": body},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def sign(kind: str, change_id: str, message: BaseModel, key: SigningKey) -> Signature:
    """The message's signature: its e-signature part (if any) kept, the MAC over both."""
    mac = hmac.new(key.secret, canonical(kind, change_id, message), hashlib.sha256).hexdigest()
    current = getattr(message, "signature", None)
    esign = current.model_dump(exclude={"key_id", "mac"}) if current is not None else {}
    return Signature(key_id=key.key_id, mac=mac, **esign)


def signed(kind: str, change_id: str, message: M, key: SigningKey) -> M:
    """A copy of the message carrying its signature (what the API sends to the workflow)."""
    return message.model_copy(update={"signature": sign(kind, change_id, message, key)})


def signature_problem(
    kind: str, change_id: str, message: BaseModel, signature: Signature | None, ring: Keyring | None
) -> str | None:
    """None when the message was signed by a key of the ring; otherwise why it was not."""
    if signature is None:
        return "it is not signed: human input reaches a change only through the changeflow API"
    if ring is None:
        return "this worker has no signing key configured (CHANGEFLOW_SIGNING_KEY)"
    key = ring.find(signature.key_id)
    if key is None:
        return f"it is signed with an unknown key ({signature.key_id})"
    expected = sign(kind, change_id, message, key).mac
    if not hmac.compare_digest(expected, signature.mac):
        return "its signature does not match its content (forged or altered)"
    return None
