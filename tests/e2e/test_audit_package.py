"""Issue 10, the audit package: for a completed and for a rolled-back change, every signature
and every write with its idempotency key and read-back, as JSON, as HTML an auditor can read,
and as a PDF (rendered to an image here); `changeflow audit ID --export DIR` writes all three.
And traceability: units the MES completed before and after the change's cut-in. Dev server,
simulator, workers: the shared stack."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from typer.testing import CliRunner

from tests.support.e2e_stack import BRACKET, SHAFT, Stack, poll


async def package(stack: Stack, change_id: str) -> dict:
    response = await stack.api.get(f"/api/changes/{change_id}/audit", params={"format": "json"})
    assert response.status_code == 200, response.text
    return response.json()


def first_page(pdf: bytes) -> np.ndarray:
    document = pdfium.PdfDocument(pdf)
    assert len(document) >= 1
    return document[0].render(scale=1).to_numpy()


async def test_the_package_of_a_completed_and_of_a_rolled_back_change(
    stack: Stack, tmp_path: Path, monkeypatch
) -> None:
    # first a change whose QMS write is refused, then rolled back: every write and its undo
    stack.sim.post(
        "/sim/faults",
        json={"path_contains": "/qms/BRN/inspection-plans", "status": 409, "times": 1},
    )
    undone = await stack.submit(stack.part_change(SHAFT))
    await stack.approve_all(undone)
    held = await poll(stack, undone, "on_hold", "completed", timeout=90)
    assert held.stage.value == "on_hold", held.outcome
    rollback = await stack.api.post(
        f"/api/changes/{undone}/resolve",
        json={"task_id": held.hold.task_id, "action": "rollback", "comment": "QMS refused"},
        headers=stack.auth("ops.admin"),
    )
    assert rollback.status_code == 202, rollback.text
    await poll(stack, undone, "rolled_back", timeout=90)
    q = await package(stack, undone)
    assert q["final_stage"] == "rolled_back" and q["chain"]["intact"]
    assert q["writes"] and all(w["undone_at"] for w in q["writes"])
    assert len(q["signatures"]) == len(held.approvals.required)

    before = stack.sim.post("/sim/units", json={"plant": "DET", "part": "200-100", "count": 2})
    assert before.status_code == 201, before.text
    bracket = stack.part_change(BRACKET)  # the example, in two plants
    old, new = bracket["items"][0]["from_revision"], bracket["items"][0]["to_revision"]
    done = await stack.submit(bracket)
    await stack.approve_all(done)
    state = await poll(stack, done, "completed", "rolled_back", "on_hold", timeout=90)
    assert state.stage.value == "completed", state.outcome
    p = await package(stack, done)
    assert p["chain"]["intact"] and p["final_stage"] == "completed"
    assert all(e["run_id"] and e["workflow_id"].startswith(done) for e in p["events"])
    assert {e["workflow_id"] for e in p["events"]} >= {done, f"{done}.DET", f"{done}.MTY"}
    signed = next(e for e in p["events"] if e["action"] == "approval.approve")
    assert signed["actor_name"] == signed["actor"]  # the demo's users have no full name
    required = len(state.approvals.required)
    assert len(p["signatures"]) == required
    assert all(s["content_hash"] == state.revision_hash and s["meaning"] for s in p["signatures"])
    assert {w["task_id"] for w in p["writes"]} == {t.id for t in state.tasks}
    assert all(w["read_back"] and w["idempotency_key"].endswith(":apply") for w in p["writes"])
    assert all(w["after"]["target"] for w in p["writes"])
    mbom = next(w for w in p["writes"] if ".ERP.mbom." in w["task_id"])
    assert mbom["before"] and mbom["after"]["to_revision"] == new  # the values, both sides
    assert p["revisions"][0]["request"]["title"] == state.title
    assert p["revisions"][0]["impact"] and p["revisions"][0]["plan"]["plan_hash"] == state.plan_hash

    html = await stack.api.get(f"/api/changes/{done}/audit", params={"format": "html"})
    assert html.headers["content-type"].startswith("text/html")
    assert "Audit record of change" in html.text and state.revision_hash in html.text
    pdf = await stack.api.get(f"/api/changes/{done}/audit", params={"format": "pdf"})
    assert pdf.headers["content-type"] == "application/pdf"
    image = first_page(pdf.content)
    assert image.std() > 5, "the PDF's first page is blank"

    # traceability: units built before the cut-in carry the old revision, after it the new one
    # under `done`
    after = stack.sim.post("/sim/units", json={"plant": "DET", "part": "200-100", "count": 1})
    old_unit, new_unit = before.json()[0]["serial"], after.json()[0]["serial"]
    traced = (await stack.api.get(f"/api/trace/units/{new_unit}")).json()
    component = next(c for c in traced["components"] if c["part"] == BRACKET)
    assert (component["change_id"], component["built_with"], component["consistent"]) == (
        done,
        new,
        True,
    )
    assert any(d["kind"] == "work_instruction" for d in traced["unit"]["documents"])
    earlier = (await stack.api.get(f"/api/trace/units/{old_unit}")).json()
    before_cut_in = next(c for c in earlier["components"] if c["part"] == BRACKET)
    # the change in force before `done` (none, unless an earlier test changed the bracket)
    assert before_cut_in["change_id"] != done and before_cut_in["built_with"] == old
    groups = (await stack.api.get(f"/api/changes/{done}/units")).json()
    det = next(g for g in groups if g["cut_in"]["plant"] == "DET")
    assert [u["unit"]["serial"] for u in det["before"]] == [u["serial"] for u in before.json()]
    assert [u["unit"]["serial"] for u in det["after"]] == [new_unit]
    assert (await stack.api.get("/api/trace/units/NO-SUCH-UNIT")).status_code == 404
    assert (await stack.api.get(f"/api/changes/{undone}/units")).status_code == 404

    # one command for an auditor: JSON, HTML and PDF in a directory
    from starter.cli.main import app

    monkeypatch.setenv("CHANGEFLOW_API_URL", str(stack.api.base_url).rstrip("/"))
    monkeypatch.setenv("CHANGEFLOW_TOKEN", stack.tokens["audit.ray"])
    result = CliRunner().invoke(app, ["audit", done, "--export", str(tmp_path / "pkg")])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "pkg").iterdir())
    assert written == [f"{done}-audit.{ext}" for ext in ("html", "json", "pdf")]
    assert first_page((tmp_path / "pkg" / f"{done}-audit.pdf").read_bytes()).std() > 5
    traced_cli = CliRunner().invoke(app, ["trace", new_unit])
    assert traced_cli.exit_code == 0 and done in traced_cli.output, traced_cli.output
    by_change = CliRunner().invoke(app, ["trace", "--change", done])
    assert by_change.exit_code == 0 and "1 after" in by_change.output, by_change.output
