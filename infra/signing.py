"""The process's signing key ring, from the environment: the API signs with it, workers verify.

`CHANGEFLOW_SIGNING_KEY` is the active secret (at least 16 bytes); `CHANGEFLOW_SIGNING_KEYS_RETIRED`
lists older secrets, comma-separated, still accepted so that decisions signed before a rotation
verify when a workflow replays. Workflow code reads the ring through `keyring()` (this module is
passed through the sandbox, so the worker's ring is the one it sees)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from domain.signatures.signing import Keyring, SigningKeyError

KEY_ENV = "CHANGEFLOW_SIGNING_KEY"
RETIRED_ENV = "CHANGEFLOW_SIGNING_KEYS_RETIRED"

_ring: Keyring | None = None


def load_keyring(env: Mapping[str, str] | None = None) -> Keyring:
    """The ring from the environment; a clear error when no key is set."""
    env = os.environ if env is None else env
    active = env.get(KEY_ENV, "").strip()
    if not active:
        raise SigningKeyError(
            f"{KEY_ENV} is not set: the API signs every decision with it and the workers verify "
            "it. Set the same random secret in the environment of the API and of every worker "
            "(python -c 'import secrets; print(secrets.token_urlsafe(32))'); `changeflow up` "
            "makes one for the embedded stack."
        )
    return Keyring.from_secrets(active, env.get(RETIRED_ENV, "").split(","))


def install(ring: Keyring) -> None:
    """Use this ring in this process (tests, or a caller that loaded it some other way)."""
    global _ring
    _ring = ring


def keyring() -> Keyring | None:
    """The ring of this process, loaded from the environment on first use; None if unset."""
    global _ring
    if _ring is None:
        try:
            _ring = load_keyring()
        except SigningKeyError:
            return None
    return _ring


def require_keyring() -> Keyring:
    """For the API and worker at start: the ring, or the error that says how to set it."""
    ring = keyring()
    if ring is None:
        load_keyring()  # raises the explanatory error
    assert ring is not None
    return ring


def ensure_local_key(home: Path, env: MutableMapping[str, str] | None = None) -> None:
    """For the embedded stack only: when no key is set, use (or make) `home/signing.key` and put
    it into the environment its child processes inherit. Production sets the key itself."""
    env = os.environ if env is None else env
    if env.get(KEY_ENV, "").strip():
        return
    path = home / "signing.key"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32))
    env[KEY_ENV] = path.read_text().strip()
