"""Passwords: the one a user signs in to the approver pages with and re-enters to sign a
decision (an argon2id hash, never the password).

Wrong passwords are counted in the database itself (`failed_signings = failed_signings + 1`), so
guesses made at the same moment each count; the fifth locks the user until an admin unlocks or
`[approvals] lock_minutes` pass (0: only an admin). Every lock, expiry and unlock is in the
security log (store/security_events.py). There is no signing session here: a page's signing
session belongs to its browser session (store/web_sessions.py), and signing in never opens one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from store.security_events import (
    LOCK_EXPIRED,
    LOCKED,
    PASSWORD_SET,
    UNLOCKED,
    record_security_event,
)
from store.tables import UserRow
from store.times import as_utc

MAX_FAILED = 5
MIN_PASSWORD = 10
DEFAULT_LOCK_MINUTES = 15.0
_hasher = PasswordHasher()


class SigningRefused(Exception):
    """Why a user cannot sign (or sign in) now: no password set, locked, wrong password."""


class NoPassword(SigningRefused):
    pass


class Locked(SigningRefused):
    def __init__(self, message: str, until: datetime | None) -> None:
        super().__init__(message)
        self.until = until


class WrongPassword(SigningRefused):
    def __init__(self, message: str, left: int) -> None:
        super().__init__(message)
        self.left = left


@cache
def _decoy_hash() -> str:
    """A hash no password matches, verified when there is nothing to verify (an unknown name,
    no password, a lock), so that a refusal takes as long whatever its reason."""
    return _hasher.hash("changeflow decoy: no password is this one")


def _verifies(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _decoy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def _row(session: Session, name: str) -> UserRow:
    row = session.exec(select(UserRow).where(UserRow.name == name)).first()
    if row is None:
        raise SigningRefused(f"no user {name}")
    return row


def set_password(engine: Engine, name: str, password: str, *, actor: str = "admin") -> None:
    """Set (or replace) the password; it also lifts a lock after wrong passwords."""
    if len(password) < MIN_PASSWORD:
        raise SigningRefused(f"a signing password has at least {MIN_PASSWORD} characters")
    with Session(engine) as session:
        row = _row(session, name)
        was_locked = row.locked_at is not None
        row.password_hash = _hasher.hash(password)
        row.failed_signings, row.locked_at = 0, None
        session.add(row)
        session.commit()
    record_security_event(
        engine, PASSWORD_SET, actor=actor, user_name=name, detail={"unlocked": was_locked}
    )


def unlock(engine: Engine, name: str, *, actor: str = "admin") -> bool:
    """An admin lifts a lock after wrong passwords. False if the user was not locked."""
    with Session(engine) as session:
        _row(session, name)
    with engine.begin() as connection:
        lifted = connection.execute(
            update(UserRow)
            .where(UserRow.name == name, UserRow.locked_at.is_not(None))  # type: ignore[union-attr]
            .values(failed_signings=0, locked_at=None)
        ).rowcount
        connection.execute(update(UserRow).where(UserRow.name == name).values(failed_signings=0))
    if lifted:
        record_security_event(engine, UNLOCKED, actor=actor, user_name=name)
    return bool(lifted)


def lock_expires(locked_at: datetime | None, lock_minutes: float) -> datetime | None:
    """When a lock set at `locked_at` lifts by itself (None: it does not, an admin unlocks)."""
    if locked_at is None or lock_minutes <= 0:
        return None
    return as_utc(locked_at) + timedelta(minutes=lock_minutes)


def _locked_message(name: str, until: datetime | None) -> str:
    lifted = f"it lifts at {until:%Y-%m-%d %H:%M} UTC, or an admin" if until else "an admin"
    return (
        f"{name} is locked after {MAX_FAILED} wrong passwords; {lifted} unlocks "
        f"(changeflow users unlock {name})"
    )


def _lift_expired(engine: Engine, name: str, seen: datetime, lock_minutes: float) -> None:
    """The lock seen has expired: lift it (once, whoever gets here first) and log that."""
    cutoff = datetime.now(UTC) - timedelta(minutes=lock_minutes)
    with engine.begin() as connection:
        lifted = connection.execute(
            update(UserRow)
            .where(UserRow.name == name, UserRow.locked_at <= cutoff)  # type: ignore[operator]
            .values(failed_signings=0, locked_at=None)
        ).rowcount
    if lifted:
        record_security_event(
            engine,
            LOCK_EXPIRED,
            actor="changeflow",
            user_name=name,
            detail={"locked_at": as_utc(seen).isoformat(), "lock_minutes": lock_minutes},
        )


def _count_failure(engine: Engine, name: str, address: str | None, channel: str) -> int:
    """One more wrong password, counted by the database (concurrent guesses each count); the
    one that reaches MAX_FAILED locks the user. Returns the count."""
    now = datetime.now(UTC)
    with engine.begin() as connection:
        count = connection.execute(
            update(UserRow)
            .where(UserRow.name == name)
            .values(failed_signings=func.coalesce(UserRow.failed_signings, 0) + 1)
            .returning(UserRow.failed_signings)
        ).scalar_one()
        locked = 0
        if count >= MAX_FAILED:
            locked = connection.execute(
                update(UserRow)
                .where(UserRow.name == name, UserRow.locked_at.is_(None))  # type: ignore[union-attr]
                .values(locked_at=now)
            ).rowcount
    if locked:
        record_security_event(
            engine,
            LOCKED,
            actor="changeflow",
            user_name=name,
            address=address,
            detail={"failed": count, "channel": channel},
            at=now,
        )
    return count


def check_password(
    engine: Engine,
    name: str,
    password: str,
    *,
    lock_minutes: float = DEFAULT_LOCK_MINUTES,
    address: str | None = None,
    channel: str = "signing",
) -> None:
    """Pass when `password` is `name`'s and they are not locked (nor revoked); otherwise raise
    SigningRefused saying why (NoPassword, Locked, WrongPassword). A wrong password counts
    towards the lock; a right one resets the count. Takes as long whatever the outcome."""
    with Session(engine) as session:
        row = session.exec(select(UserRow).where(UserRow.name == name)).first()
    if row is None or row.revoked_at is not None:
        _verifies(None, password)
        raise SigningRefused(f"no user {name}" if row is None else f"{name} is revoked")
    if row.password_hash is None:
        _verifies(None, password)
        raise NoPassword(f"{name} has no signing password yet (changeflow users passwd {name})")
    if row.locked_at is not None:
        until = lock_expires(row.locked_at, lock_minutes)
        if until is None or until > datetime.now(UTC):
            _verifies(None, password)
            raise Locked(_locked_message(name, until), until)
        _lift_expired(engine, name, row.locked_at, lock_minutes)
    if not _verifies(row.password_hash, password):
        count = _count_failure(engine, name, address, channel)
        left = MAX_FAILED - count
        if left > 0:
            raise WrongPassword(f"wrong password: {left} attempt(s) left", left)
        raise WrongPassword(f"wrong password: {_locked_message(name, None)}", 0)
    with engine.begin() as connection:  # right: the count starts again, unless locked meanwhile
        still_open = connection.execute(
            update(UserRow)
            .where(UserRow.name == name, UserRow.locked_at.is_(None))  # type: ignore[union-attr]
            .values(failed_signings=0)
        ).rowcount
    if not still_open:
        raise Locked(_locked_message(name, None), None)


def authorize_signing(
    engine: Engine,
    name: str,
    password: str | None,
    session_minutes: float = 0,
    *,
    lock_minutes: float = DEFAULT_LOCK_MINUTES,
) -> str:
    """Check the password `name` signs one decision with; returns the component used
    ("password"). Signing sessions are no longer kept for a user (any channel holding their
    token would sign without a password): `session_minutes` is ignored, kept for callers of
    the earlier signature. A page's signing session: store/web_sessions.py."""
    del session_minutes
    if not password:
        raise SigningRefused("signing needs your password")
    check_password(engine, name, password, lock_minutes=lock_minutes)
    return "password"


def printed_name(engine: Engine, name: str) -> str:
    with Session(engine) as session:
        row = _row(session, name)
        return row.full_name or row.name
