"""The HTTP API's contract on the shared stack: an invalid change is 422 with every problem and
starts nothing, an unknown one is 404, every route needs a token, a decision is taken only from
the approver of its role and plant (not from the requester, not twice, not once the change has
ended), hostile input gets a 4xx and never a 5xx, auditors read and never write (defects 9, 10,
12 of issue 6)."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx

from domain.approvals.decisions import Decision
from domain.change.revisions import next_revision
from tests.support.e2e_stack import BRACKET, PASSWORD, SHAFT, Stack, example_body, poll


async def test_invalid_changes_get_422_and_start_nothing(stack: Stack) -> None:
    auth = stack.auth("maria.engineer")
    shaft = stack.part_change(SHAFT)["items"][0]  # from the revision PLM holds now
    stale = next_revision(shaft["to_revision"])
    cases = {
        "title": example_body(title=None),
        "not known to PLM": example_body(
            items=[{"part": "999-999", "from_revision": "A", "to_revision": "B"}]
        ),
        "must come after": example_body(
            items=[{"part": BRACKET, "from_revision": "B", "to_revision": "A"}]
        ),
        f"is at revision {shaft['from_revision']} in PLM, not {stale}": example_body(
            items=[{"part": SHAFT, "from_revision": stale, "to_revision": next_revision(stale)}]
        ),
        f"revision A of part {SHAFT} already exists": example_body(
            items=[{"part": SHAFT, "from_revision": "0", "to_revision": "A"}]
        ),
        "plant XYZ does not exist": example_body(plants=["XYZ"]),
        "effectivity": example_body(effectivity={"type": "date"}),
    }
    for expected, body in cases.items():
        change_id = f"BAD-{uuid.uuid4().hex[:6]}"
        body["change_id"] = change_id
        response = await stack.api.post("/api/changes", json=body, headers=auth)
        assert response.status_code == 422, (expected, response.text)
        assert any(expected in line for line in response.json()["detail"]), response.text
        assert (await stack.api.get(f"/api/changes/{change_id}")).status_code == 404
    response = await stack.api.post("/api/changes", content=b"{not json", headers=auth)
    assert response.status_code == 422


async def test_unknown_change_is_404_and_every_route_needs_a_token(stack: Stack) -> None:
    assert (await stack.api.get("/api/changes/NOPE-123")).status_code == 404
    assert (await stack.api.get("/api/changes/NOPE-123/impact")).status_code == 404
    assert (await stack.api.get("/api/changes/NOPE-123/audit")).status_code == 404
    response = await stack.api.post(
        "/api/changes/NOPE-123/approvals",
        json={"password": PASSWORD, "decision": "approve", "role": "engineering"},
        headers=stack.auth("eng.kim"),
    )
    assert response.status_code == 404
    async with httpx.AsyncClient(base_url=stack.api.base_url) as anonymous:
        for method, path in [
            ("POST", "/api/changes"),
            ("GET", "/api/changes"),
            ("GET", "/api/changes/NOPE-123"),
            ("GET", "/api/changes/NOPE-123/audit"),
            ("POST", "/api/changes/NOPE-123/approvals"),
            ("GET", "/api/thread"),
            ("GET", "/api/me"),
        ]:
            response = await anonymous.request(method, path, json=example_body())
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
        bad = {"Authorization": "Bearer nope"}
        assert (await anonymous.get("/api/changes", headers=bad)).status_code == 401
        empty = {"Authorization": ""}
        decision = {"password": PASSWORD, "decision": "approve", "role": "quality"}
        no_token = await anonymous.post(
            "/api/changes/NOPE-123/approvals", json=decision, headers=empty
        )
        assert no_token.status_code == 401


async def test_approval_checks_role_plant_and_requester(stack: Stack) -> None:
    # an engineer's own change: he may not approve it in his role
    change_id = await stack.submit(stack.part_change(SHAFT, requested_by="eng.kim"), "eng.kim")
    await poll(stack, change_id, "awaiting_approval")
    url = f"/api/changes/{change_id}/approvals"
    wrong_role = await stack.api.post(
        url,
        json={"password": PASSWORD, "decision": "approve", "role": "quality"},
        headers=stack.auth("eng.kim"),
    )
    assert wrong_role.status_code == 403
    wrong_plant = await stack.api.post(
        url,
        json={"password": PASSWORD, "decision": "approve", "role": "production", "plant": "MTY"},
        headers=stack.auth("det.prod"),
    )
    assert wrong_plant.status_code == 403
    own = await stack.api.post(
        url,
        json={"password": PASSWORD, "decision": "approve", "role": "engineering"},
        headers=stack.auth("eng.kim"),
    )
    assert own.status_code == 403 and "requested this change" in own.json()["detail"]
    ok = await stack.api.post(
        url,
        json={"password": PASSWORD, "decision": "approve", "role": "quality"},
        headers=stack.auth("qa.lee"),
    )
    assert ok.status_code == 202
    await asyncio.sleep(0.5)
    again = await stack.api.post(
        url,
        json={"password": PASSWORD, "decision": "approve", "role": "quality"},
        headers=stack.auth("qa.lee"),
    )
    assert again.status_code == 409 and "already decided" in again.json()["detail"]
    other = await stack.api.post(
        url,
        json={"password": PASSWORD, "decision": "approve", "role": "quality"},
        headers=stack.auth("qa.park"),
    )
    assert other.status_code == 409 and "already given" in other.json()["detail"]
    cancel = await stack.cancel(change_id, user="eng.kim")
    assert cancel.status_code == 202
    state = await poll(stack, change_id, "cancelled")
    assert "eng.kim" in state.outcome
    late = await stack.api.post(
        url,
        json={"password": PASSWORD, "decision": "approve", "role": "engineering"},
        headers=stack.auth("qa.lee"),
    )
    assert late.status_code in (403, 409)
    # from an approver the change was waiting for: the change has ended
    ended = await stack.api.post(
        url,
        json={"password": PASSWORD, "decision": "approve", "role": "supply_chain"},
        headers=stack.auth("sc.ortiz"),
    )
    assert ended.status_code == 409, ended.text


async def test_hostile_input_gets_4xx_never_5xx(stack: Stack) -> None:
    """Defect 9."""
    auth = {**stack.auth("maria.engineer"), "Content-Type": "application/json"}
    deep = ("[" * 10_000 + "]" * 10_000).encode()
    response = await stack.api.post("/api/changes", content=deep, headers=auth)
    assert response.status_code == 422, response.text[:300]
    huge = json.dumps(example_body(reason="x" * 3_000_000)).encode()
    response = await stack.api.post("/api/changes", content=huge, headers=auth)
    assert response.status_code == 413, response.text[:300]
    shaft = stack.part_change(SHAFT)["items"][0]
    big = example_body(items=[dict(shaft, description="d" * 1_500_000)])
    response = await stack.api.post("/api/changes", json=big, headers=stack.auth("maria.engineer"))
    assert response.status_code in (413, 422), response.text[:300]
    evil = example_body(
        items=[{"part": "../../sim/faults", "from_revision": "A", "to_revision": "B"}]
    )
    faults_before = (
        stack.sim.get("/sim/faults").json()
        if stack.sim.get("/sim/faults").status_code == 200
        else None
    )
    response = await stack.api.post("/api/changes", json=evil, headers=stack.auth("maria.engineer"))
    assert response.status_code == 422 and "part" in response.text
    if faults_before is not None:
        assert stack.sim.get("/sim/faults").json() == faults_before
    # ids of other workflow types are not changes, and changes are not syncs
    started = await stack.api.post(
        "/api/thread/sync", json={"mode": "incremental"}, headers=stack.auth("ops.admin")
    )
    sync_id = started.json()["workflow_id"]
    assert (await stack.api.get(f"/api/changes/{sync_id}")).status_code == 404
    assert (await stack.api.get(f"/api/changes/{sync_id}/audit")).status_code == 404
    decide = await stack.api.post(
        f"/api/changes/{sync_id}/approvals",
        json={"password": PASSWORD, "decision": "approve", "role": "engineering"},
        headers=stack.auth("eng.kim"),
    )
    assert decide.status_code == 404, decide.text
    change_id = await stack.submit(stack.part_change(BRACKET))
    assert (await stack.api.get(f"/api/thread/sync/{change_id}")).status_code == 404
    await poll(stack, change_id, "awaiting_approval")
    await stack.cancel(change_id)


async def test_auditors_read_and_never_write_and_requesters_must_exist(stack: Stack) -> None:
    """Defects 10 and 12."""
    auditor = stack.auth("audit.ray")
    assert (await stack.api.get("/api/changes", headers=auditor)).status_code == 200
    for path, body in [
        ("/api/changes", stack.part_change(SHAFT)),
        ("/api/changes/ANY-1/cancel", {"reason": "x"}),
        (
            "/api/changes/ANY-1/approvals",
            {"password": PASSWORD, "decision": "approve", "role": "quality"},
        ),
        ("/api/thread/sync", {"mode": "full"}),
    ]:
        response = await stack.api.post(path, json=body, headers=auditor)
        assert response.status_code == 403, (path, response.text)
    unknown = await stack.api.post(
        "/api/changes",
        json=stack.part_change(SHAFT, requested_by="nobody.known"),
        headers=stack.auth("eng.kim"),  # engineering may submit on someone's behalf
    )
    assert unknown.status_code == 422, unknown.text
    assert any("nobody.known is not a changeflow user" in line for line in unknown.json()["detail"])
    naive = await stack.api.post(
        "/api/changes",
        json=stack.part_change(SHAFT, effectivity={"type": "date", "date": "2026-12-01T06:00:00"}),
        headers=stack.auth("maria.engineer"),
    )
    assert naive.status_code == 422 and "timezone" in naive.text
    assert Decision.approve  # the enum the API shares with the workflow
