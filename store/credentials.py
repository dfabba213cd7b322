"""Signing credentials: the password a user re-enters to sign a decision (an argon2id hash,
never the password), five wrong ones lock the user until an admin unlocks, and a successful
signing opens a short signing session in which the password is not asked again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from store.tables import UserRow
from store.times import as_utc

MAX_FAILED = 5
MIN_PASSWORD = 10
_hasher = PasswordHasher()


class SigningRefused(Exception):
    """Why a user cannot sign now (no password set, locked, wrong or missing password)."""


def _row(session: Session, name: str) -> UserRow:
    row = session.exec(select(UserRow).where(UserRow.name == name)).first()
    if row is None:
        raise SigningRefused(f"no user {name}")
    return row


def set_password(engine: Engine, name: str, password: str) -> None:
    """Set (or replace) the signing password; it also unlocks and ends any signing session."""
    if len(password) < MIN_PASSWORD:
        raise SigningRefused(f"a signing password has at least {MIN_PASSWORD} characters")
    with Session(engine) as session:
        row = _row(session, name)
        row.password_hash = _hasher.hash(password)
        row.failed_signings, row.locked_at, row.signing_until = 0, None, None
        session.add(row)
        session.commit()


def unlock(engine: Engine, name: str) -> bool:
    """An admin lifts a lock after wrong passwords. False if the user was not locked."""
    with Session(engine) as session:
        row = _row(session, name)
        was_locked = row.locked_at is not None
        row.failed_signings, row.locked_at = 0, None
        session.add(row)
        session.commit()
    return was_locked


def authorize_signing(
    engine: Engine, name: str, password: str | None, session_minutes: float
) -> str:
    """Check that `name` may sign now: their password, or an open signing session. Returns
    how ("password" or "session"); raises SigningRefused saying why not."""
    now = datetime.now(UTC)
    with Session(engine) as session:
        row = _row(session, name)
        if row.password_hash is None:
            raise SigningRefused(
                f"{name} has no signing password yet (changeflow users passwd {name})"
            )
        if row.locked_at is not None:
            raise SigningRefused(
                f"{name} is locked after {MAX_FAILED} wrong passwords since "
                f"{as_utc(row.locked_at):%Y-%m-%d %H:%M} UTC; an admin unlocks "
                f"(changeflow users unlock {name})"
            )
        if password is None:
            until = as_utc(row.signing_until)
            if until is not None and until > now:
                return "session"
            raise SigningRefused("signing needs your password (no signing session is open)")
        try:
            _hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            row.failed_signings = (row.failed_signings or 0) + 1
            left = MAX_FAILED - row.failed_signings
            if left <= 0:
                row.locked_at = now
            session.add(row)
            session.commit()
            raise SigningRefused(
                "wrong password: "
                + (f"{left} attempt(s) left" if left > 0 else f"{name} is locked")
            ) from None
        row.failed_signings = 0
        row.signing_until = now + timedelta(minutes=session_minutes)
        session.add(row)
        session.commit()
    return "password"


def printed_name(engine: Engine, name: str) -> str:
    with Session(engine) as session:
        row = _row(session, name)
        return row.full_name or row.name
