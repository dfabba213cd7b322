"""Issue 8, the approver pages in real headless Chromium (Debian's `chromium`, driven by
Playwright): sign in, the inbox, a change, a signed approval; the session cookie's flags and the
CSRF check; a screenshot that is not blank. On the shared stack."""

from __future__ import annotations

import shutil
import struct
import zlib

import httpx
import pytest

from tests.support.e2e_stack import PASSWORD, SHAFT, Stack, poll

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it)"
)


def distinct_pixels(png: bytes) -> int:
    """How many different byte values the image's pixel rows hold (a blank page: very few)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += png[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(idat)))


async def test_sign_in_inbox_and_a_signed_approval_in_chromium(stack: Stack, tmp_path) -> None:
    from playwright.async_api import async_playwright

    change_id = await stack.submit(stack.part_change(SHAFT))
    await poll(stack, change_id, "awaiting_approval")
    base = str(stack.api.base_url).rstrip("/")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1200, "height": 900})
        await page.goto(f"{base}/approvals")
        assert page.url.endswith("/login")  # not signed in: sent to sign in
        await page.fill("#name", "qa.lee")
        await page.fill("#password", "wrong password!")
        await page.click("button[type=submit]")
        assert "name or password not accepted" in await page.inner_text("[role=alert]")
        await page.fill("#password", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{base}/approvals")
        row = page.locator("tr", has_text=change_id)
        assert "quality" in await row.inner_text()
        await row.locator("a").click()
        await page.wait_for_url(f"{base}/changes/{change_id}")
        assert "Impact" in await page.inner_text("main")
        assert "first-article inspection" in await page.inner_text("main")  # why this risk
        await page.fill("#comment", "inspection plan reviewed")
        await page.fill("#name", "qa.lee")  # the first signing of this browser session
        await page.fill("#password", PASSWORD)
        await page.click("button.approve")
        await page.wait_for_selector("[role=status]")
        assert "approve signed and recorded" in await page.inner_text("[role=status]")
        text = await page.inner_text("main")
        assert "signed “approved as quality” by qa.lee" in text
        shot = await page.screenshot(path=str(tmp_path / "change.png"), full_page=True)
        assert distinct_pixels(shot) > 20, "the screenshot is blank"
        cookies = {c["name"]: c for c in await page.context.cookies()}
        session = cookies["cf_session"]
        assert session["httpOnly"] and session["sameSite"] == "Strict"
        await browser.close()
    state = await poll(stack, change_id, "awaiting_approval")
    (received,) = state.approvals.received
    assert received.approver == "qa.lee" and received.signature.meaning == "approved as quality"
    assert received.signature.content_hash == state.revision_hash

    # a form without the session's CSRF token changes nothing
    async with httpx.AsyncClient(base_url=base, follow_redirects=False) as web:
        signed_in = await web.post("/login", data={"name": "eng.kim", "password": PASSWORD})
        assert signed_in.status_code == 303
        assert "httponly" in signed_in.headers["set-cookie"].lower()
        forged = await web.post(
            f"/changes/{change_id}/decide",
            data={
                "csrf": "forged",
                "decision": "approve",
                "slot": "engineering|",
                "revision_hash": state.revision_hash,
            },
        )
        assert forged.status_code == 403
    again = await poll(stack, change_id, "awaiting_approval")
    assert len(again.approvals.received) == 1
    await stack.cancel(change_id)


async def test_the_requester_revises_on_the_revise_page(stack: Stack) -> None:
    import html
    import re

    import yaml

    change_id = await stack.submit(stack.part_change(SHAFT))
    await poll(stack, change_id, "awaiting_approval")
    sent_back = await stack.api.post(
        f"/api/changes/{change_id}/approvals",
        json={
            "password": PASSWORD,
            "decision": "request_changes",
            "role": "engineering",
            "comment": "bore +0.01",
        },
        headers=stack.auth("eng.kim"),
    )
    assert sent_back.status_code == 202, sent_back.text
    await poll(stack, change_id, "changes_requested")
    base = str(stack.api.base_url).rstrip("/")
    async with httpx.AsyncClient(base_url=base, follow_redirects=False) as web:
        await web.post("/login", data={"name": "maria.engineer", "password": PASSWORD})
        inbox = await web.get("/approvals")
        assert f"/changes/{change_id}/revise" in inbox.text  # hers, waiting for a revision
        page = await web.get(f"/changes/{change_id}/revise")
        assert "bore +0.01" in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        textarea = re.search(r"<textarea[^>]*>(.*?)</textarea>", page.text, re.S).group(1)
        change = yaml.safe_load(html.unescape(textarea))
        change["reason"] = "bore tolerance tightened by 0.01 mm"
        sent = await web.post(
            f"/changes/{change_id}/revise",
            data={"csrf": csrf, "change": yaml.safe_dump(change), "comment": "as asked"},
        )
        assert sent.status_code == 303 and "notice=" in sent.headers["location"]
    state = await poll(stack, change_id, "awaiting_approval")
    assert state.revision == 2 and state.request.reason == "bore tolerance tightened by 0.01 mm"
    await stack.cancel(change_id)
