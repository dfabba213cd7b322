"""Issue "Signatures and records that hold against an insider", defect 4: sign-in and signing
turned against approvers. Every failed sign-in answers the same; wrong passwords are counted by
the database, so guesses made at the same moment each count (threads, SQLite and PostgreSQL);
the lock after five expires after `[approvals] lock_minutes` as well as by an admin; failures are
throttled per name and per client address with waits that grow (429 with Retry-After); every
lock, expiry, unlock and throttle is in the security log."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update
from sqlalchemy.engine import Engine

from domain.approvals.decisions import Role
from store.credentials import (
    MAX_FAILED,
    Locked,
    SigningRefused,
    authorize_signing,
    check_password,
    set_password,
    unlock,
)
from store.security_events import (
    LOCK_EXPIRED,
    LOCKED,
    THROTTLED,
    UNLOCKED,
    security_events,
)
from store.tables import UserRow
from store.users import add_user, revoke_user
from tests.support.db import migrated_engine
from tests.support.postgres import throwaway_postgres
from tests.unit.api_stub import PASSWORD, stub_api

RIGHT = "the right password"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    if request.param == "sqlite":
        yield migrated_engine(f"sqlite:///{tmp_path_factory.mktemp('login') / 'cf.db'}")
        return
    with throwaway_postgres() as url:
        eng = migrated_engine(url)
        yield eng
        eng.dispose()


def a_user(engine: Engine, name: str) -> str:
    add_user(engine, name, Role.quality)
    set_password(engine, name, RIGHT)
    return name


def failed_count(engine: Engine, name: str) -> int:
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT failed_signings FROM app_user WHERE name = :n"), {"n": name}
        ).scalar_one()


def guess_at_once(engine: Engine, name: str, guesses: int) -> list[Exception]:
    """`guesses` wrong passwords for `name` from as many threads, released together."""
    start = threading.Barrier(guesses)
    refusals: list[Exception] = []

    def guess() -> None:
        start.wait()
        try:
            authorize_signing(engine, name, "not the password", 0)
        except SigningRefused as exc:
            refusals.append(exc)

    threads = [threading.Thread(target=guess) for _ in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return refusals


def test_concurrent_wrong_guesses_each_count(engine: Engine) -> None:
    name = a_user(engine, "qa.concurrent")
    refusals = guess_at_once(engine, name, MAX_FAILED - 1)
    assert len(refusals) == MAX_FAILED - 1
    assert failed_count(engine, name) == MAX_FAILED - 1  # none lost to a read-then-write
    check_password(engine, name, RIGHT)  # one under the lock: the right one still signs
    assert failed_count(engine, name) == 0


def test_concurrent_guesses_past_the_limit_lock_once(engine: Engine) -> None:
    name = a_user(engine, "qa.crowd")
    guess_at_once(engine, name, MAX_FAILED + 3)
    assert failed_count(engine, name) >= MAX_FAILED
    with pytest.raises(Locked):
        check_password(engine, name, RIGHT)
    locks = security_events(engine, user_name=name, kind=LOCKED)
    assert len(locks) == 1 and locks[0].detail["failed"] >= MAX_FAILED
    assert unlock(engine, name, actor="ops.admin") is True
    check_password(engine, name, RIGHT)
    (unlocked,) = security_events(engine, user_name=name, kind=UNLOCKED)
    assert unlocked.actor == "ops.admin"


def test_a_lock_expires_after_lock_minutes(engine: Engine) -> None:
    name = a_user(engine, "qa.later")
    for _ in range(MAX_FAILED):
        with pytest.raises(SigningRefused):
            check_password(engine, name, "not the password", lock_minutes=15)
    with pytest.raises(Locked) as locked:
        check_password(engine, name, RIGHT, lock_minutes=15)
    assert locked.value.until is not None and "lifts at" in str(locked.value)
    earlier = datetime.now(UTC) - timedelta(minutes=16)
    with engine.begin() as connection:
        connection.execute(update(UserRow).where(UserRow.name == name).values(locked_at=earlier))
    with pytest.raises(Locked):  # lock_minutes 0: only an admin unlocks
        check_password(engine, name, RIGHT, lock_minutes=0)
    check_password(engine, name, RIGHT, lock_minutes=15)  # 16 minutes later: lifted
    assert failed_count(engine, name) == 0
    (expired,) = security_events(engine, user_name=name, kind=LOCK_EXPIRED)
    assert expired.actor == "changeflow"


def alert(page: str) -> str:
    found = re.search(r'role="alert">([^<]*)<', page)
    return found.group(1) if found else ""


def test_every_failed_sign_in_answers_the_same(tmp_path: Path) -> None:
    api = stub_api(tmp_path)
    engine = api.engine
    add_user(engine, "no.password", Role.quality)
    add_user(engine, "gone.user", Role.quality)
    set_password(engine, "gone.user", PASSWORD)
    revoke_user(engine, "gone.user")
    add_user(engine, "qa.locked", Role.quality)
    set_password(engine, "qa.locked", PASSWORD)
    for _ in range(MAX_FAILED):
        with pytest.raises(SigningRefused):
            check_password(engine, "qa.locked", "not the password")
    attempts = {
        "unknown name": ("nobody.here", PASSWORD),
        "no password set": ("no.password", PASSWORD),
        "locked, right password": ("qa.locked", PASSWORD),
        "wrong password": ("qa.lee", "not the password"),
        "revoked": ("gone.user", PASSWORD),
    }
    answers = {}
    with TestClient(api.app, follow_redirects=False) as web:
        for why, (name, password) in attempts.items():
            answer = web.post("/login", data={"name": name, "password": password})
            answers[why] = (answer.status_code, alert(answer.text), "set-cookie" in answer.headers)
        ok = web.post("/login", data={"name": "qa.lee", "password": PASSWORD})
        assert ok.status_code == 303
    assert set(answers.values()) == {(200, "name or password not accepted", False)}, answers


def test_failed_sign_ins_are_throttled_per_name_and_per_address_with_growing_waits(
    tmp_path: Path,
) -> None:
    from starter.api.throttle import Throttle

    api = stub_api(tmp_path)
    with TestClient(api.app, follow_redirects=False) as web:
        api.app.state.throttle = Throttle(
            name_limits="3 per 3 seconds;4/minute", address_limits="6/minute"
        )
        for _ in range(3):
            wrong = web.post("/login", data={"name": "qa.lee", "password": "nope, not it"})
            assert wrong.status_code == 200
        throttled = web.post("/login", data={"name": "qa.lee", "password": PASSWORD})
        assert throttled.status_code == 429  # even the right password waits
        assert int(throttled.headers["Retry-After"]) <= 3
        assert "name or password not accepted" in alert(throttled.text)
        time.sleep(3.1)
        wrong = web.post("/login", data={"name": "qa.lee", "password": "nope, not it"})
        assert wrong.status_code == 200  # the short window passed; the fourth failure ...
        longer = web.post("/login", data={"name": "qa.lee", "password": PASSWORD})
        assert longer.status_code == 429 and int(longer.headers["Retry-After"]) > 30  # grows
        # the same address, other names: the address's own window fills too
        for name in ("a.one", "a.two"):
            assert web.post("/login", data={"name": name, "password": "x"}).status_code == 200
        by_address = web.post("/login", data={"name": "qa.strict", "password": PASSWORD})
        assert by_address.status_code == 429 and "Retry-After" in by_address.headers
    # a signing through the API is throttled the same way
    with TestClient(api.app) as web:
        api.app.state.throttle = Throttle(name_limits="2/minute", address_limits="50/minute")
        url = "/api/changes/CHG-1/approvals"
        body = {"decision": "approve", "role": "quality", "password": "wrong password"}
        for _ in range(2):
            assert web.post(url, json=body, headers=api.auth("qa.strict")).status_code == 403
        right = {**body, "password": PASSWORD}
        limited = web.post(url, json=right, headers=api.auth("qa.strict"))
        assert limited.status_code == 429 and limited.headers["Retry-After"]
    throttles = security_events(api.engine, kind=THROTTLED)
    scopes = {(e.detail["scope"], e.user_name) for e in throttles}
    assert ("name", "qa.lee") in scopes and ("name", "qa.strict") in scopes
    assert any(e.detail["scope"] == "address" and e.address for e in throttles)
