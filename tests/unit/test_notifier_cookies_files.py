"""Issue "Signatures and records that hold against an insider", defect 9 (parts): a `notifier`
role reads and marks the notification outbox and nothing else (marking needed an admin token);
the session cookie is Secure when the browser's request was https, also through a TLS proxy the
settings trust (and not when an untrusted client claims it), or always with `secure_cookies`;
secret files are created 0600, never readable by others for a moment."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from store.outbox import enqueue
from tests.support.data import EXAMPLE
from tests.unit.api_stub import PASSWORD, stub_api


def test_a_notifier_reads_and_marks_the_outbox_and_nothing_else(tmp_path: Path) -> None:
    api = stub_api(tmp_path)
    enqueue(
        api.engine,
        change_id="CHG-1",
        key="reminder:quality",
        kind="reminder",
        recipient="qa.lee",
        approval="quality",
        message="CHG-1 waits for your quality approval",
    )
    bot = api.auth("mail.bot")
    with TestClient(api.app) as web:
        pending = web.get("/api/notifications", params={"status": "pending"}, headers=bot)
        assert pending.status_code == 200 and [n["id"] for n in pending.json()] == [
            "CHG-1:reminder:quality"
        ]
        sent = web.post("/api/notifications/CHG-1:reminder:quality/sent", headers=bot)
        assert sent.status_code == 200 and sent.json()["status"] == "sent"
        change = yaml.safe_load(EXAMPLE.read_text())
        refused = {
            "approve": web.post(
                "/api/changes/CHG-1/approvals",
                json={"decision": "approve", "role": "quality", "password": PASSWORD},
                headers=bot,
            ),
            "submit": web.post("/api/changes", json=change, headers=bot),
            "cancel": web.post("/api/changes/CHG-1/cancel", json={"reason": "x"}, headers=bot),
            "read a change": web.get("/api/changes/CHG-1", headers=bot),
        }
        for what, answer in refused.items():
            assert answer.status_code == 403, (what, answer.text)
            assert "notifier" in answer.json()["detail"], what
        # everyone else still marks nothing: only the notifier (or an admin)
        analyst = web.post(
            "/api/notifications/CHG-1:reminder:quality/sent", headers=api.auth("ana.lyst")
        )
        assert analyst.status_code == 403
        # and a notifier has no approver pages
        page = web.post(
            "/login", data={"name": "mail.bot", "password": PASSWORD}, follow_redirects=False
        )
        assert page.status_code == 200 and "set-cookie" not in page.headers
    assert api.temporal.updates == [] and api.temporal.started == []


def session_cookie(tmp_path: Path, client: tuple[str, int], **settings: object) -> str:
    api = stub_api(tmp_path, **settings)
    with TestClient(api.app, client=client, follow_redirects=False) as web:
        answer = web.post(
            "/login",
            data={"name": "qa.lee", "password": PASSWORD},
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.20"},
        )
    assert answer.status_code == 303, answer.text
    return answer.headers["set-cookie"].lower()


def test_the_session_cookie_is_secure_through_a_trusted_tls_proxy(tmp_path: Path) -> None:
    proxy = ("10.0.0.5", 40000)
    trusted = session_cookie(tmp_path / "a", proxy, forwarded_allow_ips="10.0.0.5")
    assert "; secure" in trusted and "httponly" in trusted and "samesite=strict" in trusted
    untrusted = session_cookie(tmp_path / "b", ("203.0.113.9", 40000))
    assert "; secure" not in untrusted  # anyone may send the header: only a proxy is believed
    forced = session_cookie(tmp_path / "c", ("203.0.113.9", 40000), secure_cookies=True)
    assert "; secure" in forced


def test_the_sign_in_throttle_counts_the_client_a_trusted_proxy_names(tmp_path: Path) -> None:
    from starter.api.throttle import Throttle

    api = stub_api(tmp_path, forwarded_allow_ips="10.0.0.5")
    with TestClient(api.app, client=("10.0.0.5", 40000), follow_redirects=False) as web:
        api.app.state.throttle = Throttle(name_limits="50/minute", address_limits="2/minute")

        def sign_in(client_ip: str) -> int:
            return web.post(
                "/login",
                data={"name": "qa.lee", "password": "not the password"},
                headers={"X-Forwarded-For": client_ip},
            ).status_code

        assert [sign_in("198.51.100.1") for _ in range(3)] == [200, 200, 429]
        assert sign_in("198.51.100.2") == 200  # another client behind the same proxy


@pytest.fixture
def private_umask():
    old = os.umask(0o022)  # what most systems have: new files readable by everyone
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secret_files_are_created_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_umask: None
) -> None:
    from connectors.tryton.local import PASSWORD_FILE, admin_password, plant_dir
    from starter.devstack.demo import DEMO_USERS, PASSWORDS_FILE, demo_passwords
    from store.users import add_user
    from tests.support.db import migrated_engine

    # a chmod after the write would leave a moment in which the file is readable: none is made
    monkeypatch.setattr(Path, "chmod", lambda *_args, **_kw: None)
    monkeypatch.setattr(os, "chmod", lambda *_args, **_kw: None)
    monkeypatch.delenv("CHANGEFLOW_TRYTON_PASSWORD", raising=False)

    engine = migrated_engine(f"sqlite:///{tmp_path / 'cf.db'}")
    for name, (role, plant) in DEMO_USERS.items():
        add_user(engine, name, role, plant)
    home = tmp_path / "home"
    passwords = demo_passwords(engine, home)
    assert mode(home / PASSWORDS_FILE) == 0o600
    assert sorted(passwords) == sorted(DEMO_USERS)
    assert demo_passwords(engine, home) == passwords  # kept, and still private
    assert mode(home / PASSWORDS_FILE) == 0o600
    assert not [p for p in home.iterdir() if p.name != PASSWORDS_FILE]  # no stray temp file

    secret = admin_password(tmp_path, "MTY")
    assert len(secret) > 10 and admin_password(tmp_path, "MTY") == secret
    assert mode(plant_dir(tmp_path, "MTY") / PASSWORD_FILE) == 0o600
