"""The Ed25519 key that signs the audit trail's checkpoints (anchors), from the environment:
`CHANGEFLOW_AUDIT_KEY` (the private key, base64 of its 32 raw bytes) on the workers, and
`CHANGEFLOW_AUDIT_PUBLIC_KEY` (base64, 32 bytes) wherever the anchors are only checked."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_ENV = "CHANGEFLOW_AUDIT_KEY"
PUBLIC_ENV = "CHANGEFLOW_AUDIT_PUBLIC_KEY"


def private_key(env: Mapping[str, str] | None = None) -> Ed25519PrivateKey | None:
    env = os.environ if env is None else env
    value = env.get(KEY_ENV, "").strip()
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(value)) if value else None


def public_key(env: Mapping[str, str] | None = None) -> Ed25519PublicKey | None:
    """The configured public key, else the private key's."""
    env = os.environ if env is None else env
    value = env.get(PUBLIC_ENV, "").strip()
    if value:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(value))
    key = private_key(env)
    return key.public_key() if key else None


def public_b64(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def new_private_b64() -> str:
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return base64.b64encode(raw).decode()


def ensure_local_audit_key(home: Path, env: MutableMapping[str, str] | None = None) -> None:
    """For the embedded stack only: use (or make) `home/audit-anchor.key` (mode 600)."""
    env = os.environ if env is None else env
    if env.get(KEY_ENV, "").strip():
        return
    path = home / "audit-anchor.key"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(new_private_b64())
    env[KEY_ENV] = path.read_text().strip()
