"""Issue "Signatures and records that hold against an insider", defect 3: signing without a
password (21 CFR 11.200(a)(1)). Signing in to the pages is not signing; the first signing of a
page session needs both components (name and password), each later one the password; with
`[approvals] signing_session_minutes` a signing (never a sign-in) opens a signing session of that
one browser session, which no other channel (the API with the user's token, another browser)
shares. Each signature records the components executed (`signed_with`). Temporal is a stub."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from domain.approvals.policy import default_policy
from tests.unit.api_stub import PASSWORD, Api, stub_api

CHANGE = "CHG-1"


def signed_in(api: Api, user: str) -> tuple[TestClient, str]:
    """A browser signed in to the pages as `user`; the CSRF token of its change page."""
    web = TestClient(api.app, follow_redirects=False)
    web.__enter__()
    answer = web.post("/login", data={"name": user, "password": PASSWORD})
    assert answer.status_code == 303, answer.text
    page = web.get(f"/changes/{CHANGE}")
    assert page.status_code == 200, page.text
    return web, re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def page_decision(web: TestClient, csrf: str, **fields: str) -> str:
    """Sign an approval on the change page; the message the page shows afterwards."""
    state_hash = "0" * 64
    answer = web.post(
        f"/changes/{CHANGE}/decide",
        data={
            "csrf": csrf,
            "decision": "approve",
            "slot": "quality|",
            "revision_hash": state_hash,
            **fields,
        },
    )
    assert answer.status_code == 303, answer.text
    page = web.get(answer.headers["location"])
    shown = re.search(r'role="(?:alert|status)">([^<]*)<', page.text)
    return shown.group(1) if shown else ""


def api_decision(api: Api, web: TestClient, user: str, **fields: str):
    return web.post(
        f"/api/changes/{CHANGE}/approvals",
        json={"decision": "approve", "role": "quality", **fields},
        headers=api.auth(user),
    )


def test_signing_in_to_the_pages_lets_no_token_sign_without_the_password(
    tmp_path: Path,
) -> None:
    api = stub_api(tmp_path)
    with TestClient(api.app, follow_redirects=False) as web:
        signed = web.post("/login", data={"name": "qa.lee", "password": PASSWORD})
        assert signed.status_code == 303
        # the same user's token, on any machine, right after the sign-in: no password, no signature
        anywhere = api_decision(api, web, "qa.lee")
        assert anywhere.status_code == 403, anywhere.text
        assert "needs your password" in anywhere.json()["detail"]
        assert api.decisions() == []
        with_password = api_decision(api, web, "qa.lee", password=PASSWORD)
        assert with_password.status_code == 202, with_password.text
        again = api_decision(api, web, "qa.lee")  # a signing opens nothing for the API either
        assert again.status_code == 403, again.text
    (decision,) = api.decisions()
    assert decision.signature.signed_with == ["password"]
    assert decision.signature.mac  # the components are part of what the API signed


def test_the_api_records_name_and_password_when_both_are_given(tmp_path: Path) -> None:
    api = stub_api(tmp_path)
    with TestClient(api.app) as web:
        wrong_name = api_decision(api, web, "qa.lee", name="qa.strict", password=PASSWORD)
        assert wrong_name.status_code == 403 and "qa.strict" in wrong_name.json()["detail"]
        both = api_decision(api, web, "qa.lee", name="qa.lee", password=PASSWORD)
        assert both.status_code == 202, both.text
    (decision,) = api.decisions()
    assert decision.signature.signed_with == ["name", "password"]
    assert decision.signature.manifestation()["signed_with"] == ["name", "password"]


def test_a_page_signing_needs_the_password_and_the_first_one_the_name_too(
    tmp_path: Path,
) -> None:
    api = stub_api(tmp_path)
    web, csrf = signed_in(api, "qa.lee")
    page = web.get(f"/changes/{CHANGE}").text
    assert 'id="name"' in page  # the first signing of the session asks for the name
    assert "needs both your name and your password" in page_decision(web, csrf)
    assert "needs both your name and your password" in page_decision(web, csrf, password=PASSWORD)
    assert api.decisions() == []
    wrong_name = page_decision(web, csrf, name="qa.strict", password=PASSWORD)
    assert "you sign as qa.lee, not qa.strict" in wrong_name
    assert api.decisions() == []
    shown = page_decision(web, csrf, name="qa.lee", password=PASSWORD)
    assert "signed and recorded" in shown, shown
    assert 'id="name"' not in web.get(f"/changes/{CHANGE}").text  # later: the password
    assert "needs your password" in page_decision(web, csrf)
    assert "signed and recorded" in page_decision(web, csrf, password=PASSWORD)
    first, second = api.decisions()
    assert first.signature.signed_with == ["name", "password"]
    assert second.signature.signed_with == ["password"]
    # a second browser of the same user starts again with both components
    other, other_csrf = signed_in(api, "qa.lee")
    assert "needs both your name and your password" in page_decision(
        other, other_csrf, password=PASSWORD
    )
    web.__exit__(None, None, None)
    other.__exit__(None, None, None)


def test_a_signing_session_belongs_to_one_browser_session_and_never_to_the_api(
    tmp_path: Path,
) -> None:
    policy = default_policy().model_copy(update={"signing_session_minutes": 15})
    api = stub_api(tmp_path, policy)
    web, csrf = signed_in(api, "qa.lee")
    # signing in opened nothing: the first signing still needs name and password
    assert "needs both your name and your password" in page_decision(web, csrf)
    assert "signed and recorded" in page_decision(web, csrf, name="qa.lee", password=PASSWORD)
    page = web.get(f"/changes/{CHANGE}").text
    assert "signing session in this browser lasts until" in page
    assert "signed and recorded" in page_decision(web, csrf)  # within it: nothing asked
    # the same user's token is no part of that browser's session
    assert api_decision(api, web, "qa.lee").status_code == 403
    # nor is another browser of the same user
    other, other_csrf = signed_in(api, "qa.lee")
    assert "needs both your name and your password" in page_decision(other, other_csrf)
    first, second = api.decisions()
    assert first.signature.signed_with == ["name", "password"]
    assert second.signature.signed_with == ["session"]
    web.__exit__(None, None, None)
    other.__exit__(None, None, None)
