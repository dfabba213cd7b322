"""Issue 11, end to end: the bracket change with MTY's ERP on a real Tryton while DET and BRN
stay on the simulator (and a failed one rolled back), `changeflow tryton init`, and a plant
database made anew without a stale journal."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.tryton.erp import TrytonErp
from connectors.tryton.server import TrytonServer
from infra.settings import PlantSettings, SystemEndpoint
from tests.support.e2e_stack import APPROVERS, Stack, example_body, poll, run_sync, running_stack
from tests.support.helpers import free_port
from tests.support.tryton import PASSWORD, bom_inputs, load_mty, serve


@pytest.fixture(scope="module")
def e2e_tryton(tryton_template: TrytonServer, tmp_path_factory) -> Iterator[TrytonServer]:
    server = serve(tryton_template, tmp_path_factory.mktemp("tryton-e2e"))
    yield server
    server.stop()


async def test_the_bracket_change_runs_with_mty_on_tryton_and_a_failed_one_rolls_back(
    e2e_tryton: TrytonServer, tmp_path_factory, monkeypatch
) -> None:
    await load_mty(e2e_tryton)
    monkeypatch.setenv("CHANGEFLOW_TRYTON_MTY_PASSWORD", PASSWORD)
    erp = TrytonErp("MTY", e2e_tryton.url, "admin", PASSWORD)
    # Tryton, not the simulator, knows a third BOM consuming the bracket: the impact must say so
    gearbox = (await erp.rpc.search_read("production.bom", [["name", "=", "300-100"]], ["id"]))[0]
    bracket_b = (
        await erp.rpc.search_read("product.product", [["code", "=", "100-200/B"]], ["id"])
    )[0]["id"]
    await erp.rpc.create(
        "production.bom.input",
        [{"bom": gearbox["id"], "product": bracket_b, "quantity": 4.0, "unit": 1}],
    )
    plants = [
        PlantSettings(code="DET", name="Detroit Assembly"),
        PlantSettings(
            code="MTY",
            name="Monterrey Drives",
            erp=SystemEndpoint(kind="tryton", url=e2e_tryton.url),
        ),
        PlantSettings(code="BRN", name="Brno Compact Drives"),
    ]
    async with running_stack(tmp_path_factory.mktemp("stack-tryton"), plants=plants) as stack:
        change_id = await stack.submit(example_body())
        await poll(stack, change_id, "awaiting_approval")
        impact = (await stack.api.get(f"/api/changes/{change_id}/impact")).json()
        mbom = {o["key"] for o in impact["objects"] if o["kind"] == "mbom_line"}
        assert "300-100/100-200" in mbom, mbom  # only Tryton's MTY BOM of 300-100 has it
        await stack.approve_all(change_id, APPROVERS)
        state = await poll(stack, change_id, "completed", "on_hold", "rolled_back")
        assert state.stage.value == "completed", state.outcome
        assert await erp.component_revisions("100-200") == {
            "200-100": "C",
            "500-100": "C",
            "300-100": "C",
        }
        await assert_each_write_once(stack, erp, change_id, state)

        # bracket C -> D fails in DET (wave 2, after the pilot MTY): rolled back, Tryton as it was
        before = await bom_inputs(erp)
        stack.sim.post(
            "/sim/faults", json={"path_contains": "/erp/DET/mbom/component-revision", "status": 409}
        )
        await run_sync(stack, "incremental")  # the thread as the systems hold it now
        body = example_body(
            items=[{"part": "100-200", "from_revision": "C", "to_revision": "D"}],
            rollout={"pilot_plant": "MTY"},
        )
        failing = await stack.submit(body)
        await stack.approve_all(failing, APPROVERS)
        held = await poll(stack, failing, "on_hold", "completed", timeout=90)
        assert held.stage.value == "on_hold" and held.hold.plant == "DET"
        assert set((await erp.component_revisions("100-200")).values()) == {"D"}
        response = await stack.api.post(
            f"/api/changes/{failing}/resolve",
            json={"task_id": held.hold.task_id, "action": "rollback", "comment": "DET not ready"},
            headers=stack.auth("det.prod"),
        )
        assert response.status_code == 202, response.text
        await poll(stack, failing, "rolled_back", timeout=90)
        assert await bom_inputs(erp) == before
    await erp.aclose()


async def assert_each_write_once(stack: Stack, erp: TrytonErp, change_id: str, state) -> None:
    """The simulator's ledger holds the other plants' writes once each and none for MTY's ERP;
    Tryton's notes hold MTY's ERP writes, each key once per record it touched."""
    ledger = stack.sim.get("/sim/ledger", params={"change_id": change_id}).json()
    assert max(Counter(e["idempotency_key"] for e in ledger).values()) == 1
    assert not [e for e in ledger if e["plant"] == "MTY" and e["system"] == "ERP"]
    erp_mty = {
        f"{change_id}:{t.id}:apply" for t in state.tasks if t.plant == "MTY" and t.system == "ERP"
    }
    assert erp_mty and {e["idempotency_key"] for e in ledger}.isdisjoint(erp_mty)
    writes = await erp.changeflow_writes(change_id)
    assert {w["idempotency_key"] for w in writes} == erp_mty
    per_record = Counter((w["idempotency_key"], w["resource"]) for w in writes)
    assert max(per_record.values()) == 1
    assert len(ledger) + len(erp_mty) == len(state.tasks)


def test_tryton_init_loads_a_plant_and_refuses_to_overwrite(
    tryton_template: TrytonServer, tmp_path: Path, monkeypatch
) -> None:
    """`changeflow tryton init --plant MTY`: the database made from the template (copied here
    from the session's, so that the test does not wait for trytond-admin) and loaded."""
    from typer.testing import CliRunner

    from connectors.tryton import local
    from starter.cli.main import app

    template_dir = local.plant_dir(tmp_path, "MTY") / "template"
    template_dir.mkdir(parents=True)
    shutil.copyfile(tryton_template.db_file, template_dir / "template.sqlite")
    monkeypatch.setenv("CHANGEFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("CHANGEFLOW_TRYTON_PASSWORD", PASSWORD)
    port = str(free_port())
    runner = CliRunner()
    done = runner.invoke(app, ["tryton", "init", "--plant", "mty", "--port", port])
    assert done.exit_code == 0, done.output
    assert "MTY's ERP is on Tryton" in done.output and "116 bom inputs" in done.output
    assert local.local_server(tmp_path, "MTY", int(port)).exists()
    again = runner.invoke(app, ["tryton", "init", "--plant", "MTY", "--port", port])
    assert again.exit_code == 1 and "--reset replaces it" in again.output
    unknown = runner.invoke(app, ["tryton", "init", "--plant", "XYZ"])
    assert unknown.exit_code == 1 and "plant XYZ does not exist" in unknown.output


def test_a_database_made_anew_leaves_no_stale_journal_behind(
    tryton_template: TrytonServer, tmp_path: Path
) -> None:
    """A served database killed with its WAL beside it: the copy that replaces it must not
    have the old WAL replayed into it (the demo reloads the plant on every run)."""
    server = TrytonServer(tmp_path, free_port(), database="mty")
    server.copy_from(tryton_template)
    for suffix in ("-wal", "-shm"):
        Path(f"{server.db_file}{suffix}").write_bytes(b"stale journal of the previous run")
    server.copy_from(tryton_template)
    assert server.db_file.read_bytes() == tryton_template.db_file.read_bytes()
    assert not Path(f"{server.db_file}-wal").exists()
    assert not Path(f"{server.db_file}-shm").exists()
