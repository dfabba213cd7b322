"""People who use the API: name, role, plant, and a bearer token stored only as its hash.

Tokens expire (`token_ttl_days`); a user can be revoked at once and stays in the store for the
record. A new token never changes a user's role or plant: that is `set_role`, on purpose."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from domain.approvals.decisions import PLANT_ROLES, Role
from store.tables import UserRow
from store.times import as_utc

DEFAULT_TTL_DAYS = 90


class User(BaseModel):
    name: str
    role: Role
    plant: str | None = None


class UserRecord(User):
    """A user as an administrator sees them."""

    created_at: datetime
    token_expires_at: datetime | None = None
    revoked_at: datetime | None = None


class UserError(ValueError):
    pass


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_plant(role: Role, plant: str | None) -> None:
    if role in PLANT_ROLES and not plant:
        raise UserError(f"role {role.value} needs --plant")
    if role not in PLANT_ROLES and plant:
        raise UserError(f"role {role.value} is not tied to a plant: leave --plant out")


def add_user(
    engine: Engine,
    name: str,
    role: Role,
    plant: str | None = None,
    *,
    rotate: bool = False,
    ttl_days: int = DEFAULT_TTL_DAYS,
    full_name: str | None = None,
) -> str:
    """Create the user, or with `rotate` issue a new token to an existing one (re-enabling a
    revoked user); returns the token. Rotating never changes a role or plant."""
    _check_plant(role, plant)
    token = "cf_" + secrets.token_urlsafe(24)
    now = datetime.now(UTC)
    expires = now + timedelta(days=ttl_days) if ttl_days > 0 else None
    with Session(engine) as session:
        row = session.exec(select(UserRow).where(UserRow.name == name)).first()
        if row is not None and not rotate:
            raise UserError(f"user {name} already exists (use --rotate to issue a new token)")
        if row is None:
            row = UserRow(name=name, role=role.value, plant=plant, token_hash="", created_at=now)
        elif (row.role, row.plant) != (role.value, plant):
            held = row.role + (f" in {row.plant}" if row.plant else "")
            raise UserError(
                f"{name} is {held}; --rotate issues a new token and keeps the role. Change "
                f"the role on purpose with `changeflow users role {name} --role {role.value}"
                + (f" --plant {plant}" if plant else "")
                + "`"
            )
        row.token_hash, row.token_expires_at, row.revoked_at = _hash(token), expires, None
        if full_name:
            row.full_name = full_name
        session.add(row)
        session.commit()
    return token


def set_role(engine: Engine, name: str, role: Role, plant: str | None = None) -> tuple[str, str]:
    """Change a user's role (and plant) on purpose; returns (before, after) for the record."""
    _check_plant(role, plant)
    with Session(engine) as session:
        row = session.exec(select(UserRow).where(UserRow.name == name)).first()
        if row is None:
            raise UserError(f"user {name} does not exist")
        before = row.role + (f" ({row.plant})" if row.plant else "")
        row.role, row.plant = role.value, plant
        session.add(row)
        session.commit()
    return before, role.value + (f" ({plant})" if plant else "")


def revoke_user(engine: Engine, name: str) -> None:
    """End the user's access now; the user stays, for the audit trail."""
    with Session(engine) as session:
        row = session.exec(select(UserRow).where(UserRow.name == name)).first()
        if row is None:
            raise UserError(f"user {name} does not exist")
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
            session.add(row)
            session.commit()


def _active(row: UserRow | None, now: datetime) -> User | None:
    if row is None or row.revoked_at is not None:
        return None
    expires = as_utc(row.token_expires_at)
    if expires is not None and expires <= now:
        return None
    return User(name=row.name, role=Role(row.role), plant=row.plant)


def user_for_token(engine: Engine, token: str) -> User | None:
    """The user a token belongs to; None when unknown, revoked or expired."""
    with Session(engine) as session:
        row = session.exec(select(UserRow).where(UserRow.token_hash == _hash(token))).first()
    return _active(row, datetime.now(UTC))


def get_user(engine: Engine, name: str) -> User | None:
    """The user of that name; None when unknown or revoked."""
    with Session(engine) as session:
        row = session.exec(select(UserRow).where(UserRow.name == name)).first()
    if row is None or row.revoked_at is not None:
        return None
    return User(name=row.name, role=Role(row.role), plant=row.plant)


def _record(row: UserRow) -> UserRecord:
    return UserRecord(
        name=row.name,
        role=Role(row.role),
        plant=row.plant,
        created_at=as_utc(row.created_at),
        token_expires_at=as_utc(row.token_expires_at),
        revoked_at=as_utc(row.revoked_at),
    )


def find_user(engine: Engine, name: str) -> UserRecord | None:
    """The user of that name as an administrator sees them, revoked or not."""
    with Session(engine) as session:
        row = session.exec(select(UserRow).where(UserRow.name == name)).first()
    return None if row is None else _record(row)


def list_users(engine: Engine) -> list[UserRecord]:
    with Session(engine) as session:
        rows = session.exec(select(UserRow).order_by(UserRow.name)).all()
    return [_record(r) for r in rows]
