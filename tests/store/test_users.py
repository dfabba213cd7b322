"""Users from the command line and the store (defect 10): expiry from the settings, re-enabling a
revoked user only in the same role, and what `users list` tells an administrator. The store
functions themselves run on SQLite and PostgreSQL in tests/store/test_store.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session
from typer.testing import CliRunner

from domain.approvals.decisions import PLANT_ROLES, Role
from infra.settings import SettingsError, load_settings
from starter.cli.main import app
from store.db import get_engine
from store.users import find_user, get_user, user_for_token
from tests.support.db import migrated_engine

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CHANGEFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("CHANGEFLOW_DATABASE_URL", raising=False)
    monkeypatch.delenv("CHANGEFLOW_CONFIG", raising=False)
    monkeypatch.delenv("CHANGEFLOW_TOKEN_TTL_DAYS", raising=False)
    monkeypatch.chdir(tmp_path)  # no changeflow.toml of the checkout
    migrated_engine(f"sqlite:///{tmp_path / 'changeflow.db'}")  # `changeflow store upgrade`
    return tmp_path


def _engine(home: Path):
    return get_engine(f"sqlite:///{home / 'changeflow.db'}")


def _add(*args: str):
    return runner.invoke(app, ["users", "add", *args])


def test_token_ttl_days_setting_and_env_override() -> None:
    assert load_settings(env={}).token_ttl_days == 90
    assert load_settings(env={"CHANGEFLOW_TOKEN_TTL_DAYS": "0"}).token_ttl_days == 0
    assert load_settings(env={"CHANGEFLOW_TOKEN_TTL_DAYS": "7"}).token_ttl_days == 7
    with pytest.raises(SettingsError, match="token_ttl_days"):
        load_settings(env={"CHANGEFLOW_TOKEN_TTL_DAYS": "-1"})


def test_new_roles() -> None:
    assert Role("auditor") not in PLANT_ROLES
    assert Role("operator") in PLANT_ROLES


def test_users_add_uses_the_configured_expiry(home: Path, monkeypatch) -> None:
    monkeypatch.setenv("CHANGEFLOW_TOKEN_TTL_DAYS", "7")
    added = _add("temp.ray", "--role", "auditor")
    assert added.exit_code == 0, added.output
    assert added.stdout.strip().startswith("cf_") and "\n" not in added.stdout.strip()
    assert "created temp.ray, auditor" in added.stderr
    expires = find_user(_engine(home), "temp.ray").token_expires_at
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)
    assert "token expires" in runner.invoke(app, ["users", "list"]).output

    monkeypatch.setenv("CHANGEFLOW_TOKEN_TTL_DAYS", "0")
    assert _add("svc.mes", "--role", "operator", "--plant", "MTY").exit_code == 0
    assert find_user(_engine(home), "svc.mes").token_expires_at is None
    listed = runner.invoke(app, ["users", "list"]).output
    assert "svc.mes" in listed and "MTY" in listed and "never expires" in listed

    with Session(_engine(home)) as session:  # a week later
        session.execute(
            text("UPDATE app_user SET token_expires_at = :t WHERE name = 'temp.ray'"),
            {"t": datetime.now(UTC) - timedelta(minutes=1)},
        )
        session.commit()
    assert user_for_token(_engine(home), added.stdout.strip()) is None
    assert "token expired" in runner.invoke(app, ["users", "list"]).output


def test_a_revoked_user_is_re_enabled_only_in_the_same_role(home: Path) -> None:
    first = _add("det.prod", "--role", "production", "--plant", "DET", "--rotate")
    assert first.exit_code == 0 and "created det.prod" in first.stderr  # --rotate creates
    token = first.stdout.strip()
    assert runner.invoke(app, ["users", "revoke", "det.prod"]).exit_code == 0
    engine = _engine(home)
    assert user_for_token(engine, token) is None and get_user(engine, "det.prod") is None
    assert find_user(engine, "det.prod").revoked_at is not None  # kept for the record

    plain = _add("det.prod", "--role", "production", "--plant", "DET")
    assert plain.exit_code == 1 and "already exists" in plain.output
    other = _add("det.prod", "--role", "production", "--plant", "MTY", "--rotate")
    assert other.exit_code == 1 and "keeps the role" in other.output
    assert "users role det.prod --role production --plant MTY" in other.output
    assert get_user(engine, "det.prod") is None  # still revoked

    again = _add("det.prod", "--role", "production", "--plant", "DET", "--rotate")
    assert again.exit_code == 0, again.output
    assert "det.prod re-enabled, production (DET)" in again.stderr
    assert user_for_token(engine, token) is None  # the old token stays dead
    assert user_for_token(engine, again.stdout.strip()).plant == "DET"

    rotated = _add("det.prod", "--role", "production", "--plant", "DET", "--rotate")
    assert "new token for det.prod" in rotated.stderr
    assert user_for_token(engine, again.stdout.strip()) is None

    moved = runner.invoke(
        app, ["users", "role", "det.prod", "--role", "operator", "--plant", "DET"]
    )
    assert moved.exit_code == 0 and "production (DET) -> operator (DET)" in moved.output
    assert user_for_token(engine, rotated.stdout.strip()).role == Role.operator
    unknown = runner.invoke(app, ["users", "role", "nobody", "--role", "auditor"])
    assert unknown.exit_code == 1 and "does not exist" in unknown.output
    needs_plant = runner.invoke(app, ["users", "role", "det.prod", "--role", "operator"])
    assert needs_plant.exit_code == 1 and "needs --plant" in needs_plant.output
