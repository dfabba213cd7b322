"""Users and their API tokens in the store, on SQLite and on a throwaway PostgreSQL: hashed,
rotated, revoked, expiring. (The `users` commands: test_users.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from domain.approvals.decisions import Role
from store.users import (
    UserError,
    add_user,
    get_user,
    list_users,
    revoke_user,
    set_role,
    user_for_token,
)


def test_users_tokens_are_hashed_and_rotatable(engine: Engine) -> None:
    token = add_user(engine, "qa.lee", Role.quality)
    assert user_for_token(engine, token).name == "qa.lee"
    assert user_for_token(engine, "cf_wrong") is None
    with pytest.raises(UserError, match="already exists"):
        add_user(engine, "qa.lee", Role.quality)
    with pytest.raises(UserError, match="needs --plant"):
        add_user(engine, "someone", Role.production)
    rotated = add_user(engine, "qa.lee", Role.quality, rotate=True)
    assert user_for_token(engine, token) is None
    assert user_for_token(engine, rotated).role == Role.quality
    with Session(engine) as session:
        stored = session.execute(text("SELECT token_hash FROM app_user")).scalars().all()
    assert rotated not in stored
    assert "qa.lee" in {u.name for u in list_users(engine)}


def test_users_are_revoked_tokens_expire_and_rotation_keeps_the_role(engine: Engine) -> None:
    """Defect 10."""
    token = add_user(engine, "prod.ana", Role.production, "DET")
    revoke_user(engine, "prod.ana")
    assert user_for_token(engine, token) is None and get_user(engine, "prod.ana") is None
    assert next(u for u in list_users(engine) if u.name == "prod.ana").revoked_at is not None
    with pytest.raises(UserError, match="keeps the role"):
        add_user(engine, "prod.ana", Role.admin, rotate=True)
    again = add_user(engine, "prod.ana", Role.production, "DET", rotate=True)  # re-enabled
    assert user_for_token(engine, again).role == Role.production
    assert set_role(engine, "prod.ana", Role.quality) == ("production (DET)", "quality")
    assert user_for_token(engine, again).role == Role.quality
    expiring = add_user(engine, "temp.contractor", Role.analyst, ttl_days=1)
    assert user_for_token(engine, expiring) is not None
    with Session(engine) as session:
        session.execute(
            text("UPDATE app_user SET token_expires_at = :t WHERE name = 'temp.contractor'"),
            {"t": datetime.now(UTC) - timedelta(seconds=1)},
        )
        session.commit()
    assert user_for_token(engine, expiring) is None
    forever = add_user(engine, "svc.mes", Role.analyst, ttl_days=0)
    assert next(u for u in list_users(engine) if u.name == "svc.mes").token_expires_at is None
    assert user_for_token(engine, forever) is not None
    auditor = add_user(engine, "audit.ray", Role.auditor)
    assert user_for_token(engine, auditor).role == Role.auditor
