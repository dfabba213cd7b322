"""Issue 8, electronic signatures through the HTTP API (dev server, simulator, real worker):
each decision carries the signer's printed name, its meaning, the time and the hash of exactly
the revision approved; a stale hash is refused; signing through the API needs the password every
time and five wrong ones lock the signer until an admin unlocks. On the shared stack."""

from __future__ import annotations

from domain.approvals.decisions import Role
from store.credentials import set_password, unlock
from store.db import get_engine
from store.users import add_user
from tests.support.e2e_stack import PASSWORD, SHAFT, Stack, poll


async def test_a_decision_is_signed_over_the_revision_it_approved(stack: Stack) -> None:
    change_file = stack.part_change(SHAFT)
    change_id = await stack.submit(change_file)
    state = await poll(stack, change_id, "awaiting_approval")
    url = f"/api/changes/{change_id}/approvals"
    stale = await stack.api.post(
        url,
        json={
            "password": PASSWORD,
            "decision": "approve",
            "role": "quality",
            "revision_hash": "0" * 64,
        },
        headers=stack.auth("qa.lee"),
    )
    assert stale.status_code == 409 and state.revision_hash in stale.json()["detail"]
    signed = await stack.api.post(
        url,
        json={
            "password": PASSWORD,
            "decision": "approve",
            "role": "quality",
            "revision_hash": state.revision_hash,
            "approval_id": "qa-lee-1",
        },
        headers=stack.auth("qa.lee"),
    )
    assert signed.status_code == 202, signed.text
    body = (await stack.api.get(f"/api/changes/{change_id}")).json()
    received = body["approvals"]["received"][0]
    assert received["approval_id"] == "qa-lee-1"
    signature = received["signature"]
    assert signature["printed_name"] == "qa.lee"
    assert signature["meaning"] == "approved as quality"
    assert signature["content_hash"] == body["revision_hash"] == state.revision_hash
    assert signature["signed_at"]
    audit = (await stack.api.get(f"/api/changes/{change_id}/audit")).json()
    event = next(e for e in audit["events"] if e["action"] == "approval.approve")
    assert event["detail"]["signature"]["content_hash"] == state.revision_hash
    # requesting changes makes a new revision: the old signatures no longer fit it
    sent_back = await stack.api.post(
        url,
        json={
            "password": PASSWORD,
            "decision": "request_changes",
            "role": "engineering",
            "comment": "flange radius",
        },
        headers=stack.auth("eng.kim"),
    )
    assert sent_back.status_code == 202, sent_back.text
    await poll(stack, change_id, "changes_requested")
    revise_url = f"/api/changes/{change_id}/revise"
    new_file = dict(change_file, reason="field cracks; flange radius 2 mm added")
    not_mine = await stack.api.post(
        revise_url, json={"change": new_file}, headers=stack.auth("qa.lee")
    )
    assert not_mine.status_code == 403, not_mine.text
    broken = dict(new_file, items=[{"part": "NO-SUCH", "from_revision": "A", "to_revision": "B"}])
    invalid = await stack.api.post(
        revise_url, json={"change": broken}, headers=stack.auth("maria.engineer")
    )
    assert invalid.status_code == 422, invalid.text
    ok = await stack.api.post(
        revise_url,
        json={"change": new_file, "comment": "radius added"},
        headers=stack.auth("maria.engineer"),
    )
    assert ok.status_code == 202, ok.text
    revised = await poll(stack, change_id, "awaiting_approval")
    assert revised.revision == 2 and revised.revision_hash != state.revision_hash
    assert revised.request.reason.endswith("radius 2 mm added")
    too_late = await stack.api.post(
        revise_url, json={"change": new_file}, headers=stack.auth("maria.engineer")
    )
    assert too_late.status_code == 409, too_late.text
    again = await stack.api.post(
        url,
        json={
            "password": PASSWORD,
            "decision": "approve",
            "role": "quality",
            "revision_hash": state.revision_hash,
        },
        headers=stack.auth("qa.lee"),
    )
    assert again.status_code == 409 and revised.revision_hash in again.json()["detail"]
    # an approver who says which revision and hash they saw is taken at their word by the API
    # (no question to the workflow) and checked by the change itself
    old_revision = await stack.api.post(
        url,
        json={
            "password": PASSWORD,
            "decision": "approve",
            "role": "quality",
            "revision": 1,
            "revision_hash": revised.revision_hash,
        },
        headers=stack.auth("qa.lee"),
    )
    assert old_revision.status_code == 409 and "revision 2" in old_revision.json()["detail"]
    unknown = await stack.api.post(
        "/api/changes/CHG-20260101-NOSUCH/approvals",
        json={
            "password": PASSWORD,
            "decision": "approve",
            "role": "quality",
            "revision": 1,
            "revision_hash": "0" * 64,
        },
        headers=stack.auth("qa.lee"),
    )
    assert unknown.status_code == 404, unknown.text
    seen = await stack.api.post(
        url,
        json={
            "password": PASSWORD,
            "decision": "approve",
            "role": "quality",
            "revision": 2,
            "revision_hash": revised.revision_hash,
        },
        headers=stack.auth("qa.lee"),
    )
    assert seen.status_code == 202, seen.text
    signed_again = (await poll(stack, change_id, "awaiting_approval")).approvals.received[0]
    assert signed_again.revision == 2
    assert signed_again.signature.content_hash == revised.revision_hash
    await stack.cancel(change_id)


async def test_signing_needs_the_password_every_time_and_five_wrong_ones_lock(stack: Stack) -> None:
    """The API asks the password with every decision (it opens no signing session); five wrong
    ones lock the signer until an admin unlocks (or the lock expires); once unlocked, the signer
    signs at once: the name's throttle (10 a minute) does not outlast the lock."""
    engine = get_engine(stack.settings.db_url)
    for name, full_name in (("qa.new", "Quinn Ada New"), ("qa.guess", "Gus Guess")):
        stack.tokens[name] = add_user(engine, name, Role.quality, full_name=full_name)
        set_password(engine, name, "the-right-password")
    change_id = await stack.submit(stack.part_change(SHAFT))
    other = await stack.submit(stack.part_change(SHAFT))
    await poll(stack, change_id, "awaiting_approval")
    await poll(stack, other, "awaiting_approval")

    async def sign(change: str, user: str, password: str | None):
        body = {"decision": "approve", "role": "quality"}
        if password is not None:
            body["password"] = password
        url = f"/api/changes/{change}/approvals"
        return await stack.api.post(url, json=body, headers=stack.auth(user))

    missing = await sign(change_id, "qa.new", None)
    assert missing.status_code == 403 and "needs your password" in missing.json()["detail"]
    ok = await sign(change_id, "qa.new", "the-right-password")
    assert ok.status_code == 202, ok.text
    body = (await stack.api.get(f"/api/changes/{change_id}")).json()
    (received,) = body["approvals"]["received"]
    assert received["signature"]["printed_name"] == "Quinn Ada New"
    # the next decision needs the password again: no signing session through the API
    again = await sign(other, "qa.new", None)
    assert again.status_code == 403 and "needs your password" in again.json()["detail"]

    for left in (4, 3, 2, 1):
        wrong = await sign(other, "qa.guess", "not-the-password")
        assert wrong.status_code == 403 and f"{left} attempt(s) left" in wrong.json()["detail"]
    locked = await sign(other, "qa.guess", "not-the-password")
    assert locked.status_code == 403 and "is locked" in locked.json()["detail"]
    assert "an admin unlocks" in locked.json()["detail"]
    still = await sign(other, "qa.guess", "the-right-password")  # locked: no password counts
    assert still.status_code == 403 and "is locked" in still.json()["detail"], still.text
    assert unlock(engine, "qa.guess") is True  # and the throttle does not keep the admin waiting
    unlocked = await sign(other, "qa.guess", "the-right-password")
    assert unlocked.status_code == 202, unlocked.text
    for waiting in (change_id, other):
        await stack.cancel(waiting)


async def test_policy_explain_names_the_rule_behind_each_approval(stack: Stack) -> None:
    response = await stack.api.post("/api/policy-explain", json=stack.part_change(SHAFT))
    assert response.status_code == 200, response.text
    rules = {r["rule"]: r for r in response.json()}
    assert rules["engineering"]["applied"] and rules["engineering"]["approvals"][0]["reason"]
    assert [a["plant"] for a in rules["production"]["approvals"]] == ["BRN"]
    assert rules["it-ot"]["applied"] is False and rules["it-ot"]["approvals"] == []
