"""People who use the API: name, role, plant, and a bearer token stored only as its hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from domain.approvals import PLANT_ROLES, Role
from store.tables import UserRow


class User(BaseModel):
    name: str
    role: Role
    plant: str | None = None


class UserError(ValueError):
    pass


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(
    engine: Engine, name: str, role: Role, plant: str | None = None, *, rotate: bool = False
) -> str:
    """Create the user (with rotate: issue a new token to an existing one); returns the token."""
    if role in PLANT_ROLES and not plant:
        raise UserError(f"role {role.value} needs --plant")
    token = "cf_" + secrets.token_urlsafe(24)
    with Session(engine) as session:
        row = session.exec(select(UserRow).where(UserRow.name == name)).first()
        if row is not None and not rotate:
            raise UserError(f"user {name} already exists (use --rotate to issue a new token)")
        if row is None:
            row = UserRow(
                name=name,
                role=role.value,
                plant=plant,
                token_hash=_hash(token),
                created_at=datetime.now(UTC),
            )
        else:
            row.role, row.plant, row.token_hash = role.value, plant, _hash(token)
        session.add(row)
        session.commit()
    return token


def user_for_token(engine: Engine, token: str) -> User | None:
    with Session(engine) as session:
        row = session.exec(select(UserRow).where(UserRow.token_hash == _hash(token))).first()
    return User(name=row.name, role=Role(row.role), plant=row.plant) if row else None


def get_user(engine: Engine, name: str) -> User | None:
    """The user of that name, or None."""
    with Session(engine) as session:
        row = session.exec(select(UserRow).where(UserRow.name == name)).first()
    return User(name=row.name, role=Role(row.role), plant=row.plant) if row else None


def list_users(engine: Engine) -> list[User]:
    with Session(engine) as session:
        rows = session.exec(select(UserRow).order_by(UserRow.name)).all()
    return [User(name=r.name, role=Role(r.role), plant=r.plant) for r in rows]
