"""The digital thread on the shared stack: syncs from the simulator's systems into the store (full,
incremental, a cyclic BOM refused), a change using a fresh thread as is and changes submitted
together sharing one sync (issue 9), and what is read from the thread over HTTP and the CLI
(status, impact and plan previews)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from pathlib import Path

import pytest
import yaml
from temporalio.service import RPCError

from store.audit.trail import append_event
from store.db import get_engine
from store.thread.store import ThreadStore
from tests.support.e2e_stack import BRACKET, SHAFT, Stack, poll, run_sync
from tests.support.helpers import eventually

HISTORIES = Path(__file__).parents[1] / "workflows" / "histories"


def a_write_since_the_last_sync(stack: Stack, key: str) -> None:
    """What a change's write leaves in the audit trail: the next assessment syncs first."""
    append_event(
        get_engine(stack.settings.db_url),
        change_id="OTHER-CHANGE",
        event_key=key,
        actor="changeflow",
        action="task.applied",
        detail={"task_id": "x"},
    )


async def test_a_fresh_thread_is_used_as_is_until_a_change_writes(stack: Stack) -> None:
    """Issue 9: a change assessed moments after a sync, with no write since, fetches nothing."""
    await run_sync(stack, "incremental")

    async def first_sync_event(change_id: str) -> str:
        await poll(stack, change_id, "awaiting_approval")
        events = (await stack.api.get(f"/api/changes/{change_id}/audit")).json()["events"]
        await stack.cancel(change_id)
        return next(e["action"] for e in events if e["action"].startswith("thread."))

    body = stack.part_change(SHAFT)
    assert await first_sync_event(await stack.submit(body)) == "thread.fresh"
    # a change wrote to a system since that sync: the next assessment syncs first
    a_write_since_the_last_sync(stack, f"other:write:{uuid.uuid4().hex[:6]}")
    assert await first_sync_event(await stack.submit(body)) == "thread.synced"


async def test_changes_submitted_together_share_one_sync(stack: Stack) -> None:
    """Issue 9: changes that arrive together after a write wait for the sync one of them began
    (it began after the write, so it holds it) instead of each fetching every system."""
    a_write_since_the_last_sync(stack, f"other:write:{uuid.uuid4().hex[:6]}")
    body = stack.part_change(SHAFT)
    ids = await asyncio.gather(*(stack.submit(body) for _ in range(4)))
    synced = []
    for change_id in ids:
        await poll(stack, change_id, "awaiting_approval")
        events = (await stack.api.get(f"/api/changes/{change_id}/audit")).json()["events"]
        synced.append(next(e for e in events if e["action"].startswith("thread.")))
        await stack.cancel(change_id)
    assert {e["action"] for e in synced} == {"thread.synced"}
    own = {e["detail"]["sync_id"] for e in synced if not e["detail"].get("joined")}
    joined = [e["detail"] for e in synced if e["detail"].get("joined")]
    assert own and joined, synced  # at least one ran a sync, and at least one waited for it
    assert all(d["sync_id"] in own and d["version"] for d in joined)
    if os.environ.get("CHANGEFLOW_RECORD_HISTORIES") == "1":  # for tests/workflows/test_replay.py
        # a change that found the run under way before starting its own sync workflow has none
        for name, joined_one in (("sync-own", False), ("sync-joined", True)):
            for i, e in enumerate(synced):
                if bool(e["detail"].get("joined")) != joined_one:
                    continue
                handle = stack.client.get_workflow_handle(f"{ids[i]}-sync-r1")
                with contextlib.suppress(RPCError):  # no sync workflow of its own
                    history = await handle.fetch_history()
                    (HISTORIES / f"{name}.json").write_text(history.to_json())
                    break


async def test_thread_sync_full_incremental_and_refused_cycle(stack: Stack) -> None:
    store = ThreadStore(get_engine(stack.settings.db_url))
    full = await run_sync(stack, "full")
    assert full.status == "committed", full.error
    assert full.counts["thread_part"] >= 140 and full.counts["thread_nc_program"] > 0
    version = store.state().version

    # someone edits PLM directly: an incremental sync brings just that change in
    part = stack.sim.get("/plm/parts/310-001").json()
    part["name"] = "Input shaft, induction hardened"
    stack.sim.put("/sim/objects/PLM/part/310-001", json=part)
    incremental = await run_sync(stack, "incremental")
    assert incremental.status == "committed"
    assert incremental.counts.get("thread_part") == 1
    _, tables = store.load()
    names = dict(zip(tables["parts"]["number"], tables["parts"]["name"], strict=True))
    assert names["310-001"] == "Input shaft, induction hardened"

    # a cyclic BOM in PLM is refused, reported, and the thread stays as it was
    stack.sim.put(
        "/sim/objects/PLM/ebom_line/100-200|ED-1000",
        json={"parent": "100-200", "child": "ED-1000", "qty": 1, "find_no": 10},
    )
    refused = await run_sync(stack, "incremental")
    assert refused.status == "failed"
    assert "cycle" in refused.error and "100-200" in refused.error and "ED-1000" in refused.error
    assert store.state().version == version + 1
    assert store.report(refused.sync_id).status == "failed"
    _, after = store.load()
    assert after.counts() == tables.counts()

    # once PLM is corrected, the next sync goes through again
    stack.sim.delete("/sim/objects/PLM/ebom_line/100-200|ED-1000")
    assert (await run_sync(stack, "incremental")).status == "committed"


async def test_preview_thread_status_and_sync_through_the_api(stack: Stack) -> None:
    auth = stack.auth("maria.engineer")
    started = await stack.api.post(
        "/api/thread/sync", json={"mode": "incremental"}, headers=stack.auth("ops.admin")
    )
    assert started.status_code == 202
    workflow_id = started.json()["workflow_id"]

    async def sync_status() -> dict:
        return (await stack.api.get(f"/api/thread/sync/{workflow_id}")).json()

    status = await eventually(sync_status, lambda s: s["status"] != "running", interval=0.2)
    assert status["outcome"]["status"] == "committed"
    thread = (await stack.api.get("/api/thread")).json()
    assert thread["version"] >= 1 and thread["counts"]["thread_part"] >= 140
    assert thread["recent_syncs"][0]["sync_id"] == status["outcome"]["sync_id"]

    process = {
        "title": "Faster bracket press",
        "type": "process_change",
        "requested_by": "maria.engineer",
        "reason": "takt",
        "items": [{"plant": "DET", "routing": "R-DET-500-100", "op_no": 10, "std_time_min": 1.5}],
    }
    preview = await stack.api.post("/api/impact-preview", json=process, headers=auth)
    assert preview.status_code == 200, preview.text
    kinds = preview.json()["counts"]
    assert kinds["operation"] == 1 and kinds["work_instruction"] >= 1 and kinds["operator"] >= 1
    release = {
        "title": "MES 11.2",
        "type": "system_release",
        "requested_by": "maria.engineer",
        "reason": "upgrade",
        "plants": ["MTY"],
        "items": [{"system": "MES", "version": "11.2"}],
    }
    preview = await stack.api.post("/api/impact-preview", json=release, headers=auth)
    assert preview.json()["plants"] == ["MTY"]
    unknown = dict(process, items=[{"plant": "DET", "routing": "R-NOPE", "op_no": 10}])
    bad = await stack.api.post("/api/impact-preview", json=unknown, headers=auth)
    assert bad.status_code == 422 and "R-NOPE" in bad.json()["detail"][0]
    lms = dict(release, items=[{"system": "LMS", "version": "4.0"}])
    refused = await stack.api.post("/api/changes", json=lms, headers=auth)
    assert refused.status_code == 422
    assert any("not rolled out yet" in line for line in refused.json()["detail"])
    assert (
        await stack.api.post("/api/thread/sync", json={"mode": "sideways"}, headers=auth)
    ).status_code == 422


async def test_plan_of_a_change_and_of_a_change_file(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    auth = stack.auth("maria.engineer")
    await run_sync(stack, "incremental")  # the thread as the systems hold it now
    bracket = stack.part_change(BRACKET)
    preview = await stack.api.post("/api/plan-preview", json=bracket, headers=auth)
    assert preview.status_code == 200, preview.text
    view = preview.json()
    assert view["pilot_plant"] == "MTY"
    assert [(w["wave"], w["plants"]) for w in view["waves"]] == [
        (0, []),
        (1, ["MTY"]),
        (2, ["DET"]),
    ]
    assert {t["status"] for t in view["tasks"]} == {"pending"}
    brn_pilot = dict(bracket, rollout={"pilot_plant": "BRN"})
    bad_pilot = await stack.api.post("/api/plan-preview", json=brn_pilot, headers=auth)
    assert bad_pilot.status_code == 422 and "does not affect plant BRN" in bad_pilot.text
    refused = await stack.api.post(
        "/api/changes", json=dict(brn_pilot, change_id="PILOT-BRN"), headers=auth
    )
    assert refused.status_code == 422 and "does not affect plant BRN" in refused.text
    assert (await stack.api.get("/api/changes/PILOT-BRN")).status_code == 404  # nothing started

    change_id = await stack.submit(dict(bracket, change_id=f"PLAN-{uuid.uuid4().hex[:6]}"))
    await poll(stack, change_id, "awaiting_approval")
    plan = (await stack.api.get(f"/api/changes/{change_id}/plan", params={"limit": 2})).json()
    assert plan["plan_hash"] == view["plan_hash"]
    assert plan["total_tasks"] == view["total_tasks"] and len(plan["tasks"]) == 2

    from typer.testing import CliRunner

    from starter.cli.main import app

    monkeypatch.setenv("CHANGEFLOW_API_URL", str(stack.api.base_url))
    monkeypatch.setenv("CHANGEFLOW_TOKEN", stack.tokens["maria.engineer"])
    runner = CliRunner()
    shown = await asyncio.to_thread(runner.invoke, app, ["plan", change_id])
    assert shown.exit_code == 0, shown.output
    assert "wave 1" in shown.output and "pilot plant" in shown.output and "MTY" in shown.output
    file = tmp_path / "change.yaml"
    file.write_text(yaml.safe_dump(bracket))
    previewed = await asyncio.to_thread(runner.invoke, app, ["plan", "--preview", str(file)])
    assert previewed.exit_code == 0 and "nothing was started" in previewed.output
    await stack.cancel(change_id)
