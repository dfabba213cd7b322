"""Issue 11: one plant's ERP on a real Tryton server. The connector's reads and writes against
trytond started here (its template database created once per session, copied per test), and the
bracket change end to end with MTY on Tryton while DET and BRN stay on the simulator."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from connectors.errors import RejectedConnectorError, TransientConnectorError
from connectors.tryton.erp import TrytonErp
from connectors.tryton.load import PlantLoader, plant_documents
from connectors.tryton.rpc import TrytonRpc, credentials, tryton_error
from connectors.tryton.server import TrytonServer
from infra.settings import PlantSettings, SystemEndpoint, load_settings
from tests.support.e2e_stack import APPROVERS, Stack, example_body, poll, run_sync, running_stack
from tests.support.helpers import free_port

PASSWORD = "tryton-test-admin"


@pytest.fixture(scope="session")
def tryton_template(tmp_path_factory: pytest.TempPathFactory) -> TrytonServer:
    """The database with Tryton's modules installed, made once (about 25 s)."""
    template = TrytonServer(tmp_path_factory.mktemp("tryton-template"), 0, database="template")
    template.create(PASSWORD)
    return template


def serve(template: TrytonServer, directory: Path) -> TrytonServer:
    server = TrytonServer(directory, free_port(), database="mty")
    server.copy_from(template)
    server.start()
    return server


async def load_mty(server: TrytonServer) -> dict[str, int]:
    rpc = TrytonRpc("ERP MTY", server.url, "admin", PASSWORD)
    try:
        return await PlantLoader(rpc, plant_documents("MTY")).load()
    finally:
        await rpc.aclose()


@pytest.fixture(scope="module")
async def mty(tryton_template: TrytonServer, tmp_path_factory) -> AsyncIterator[TrytonServer]:
    """MTY's data loaded into a copy of the template, served for this module's connector tests."""
    server = serve(tryton_template, tmp_path_factory.mktemp("tryton-mty"))
    try:
        await load_mty(server)
        yield server
    finally:
        server.stop()


@pytest.fixture
async def erp(mty: TrytonServer) -> AsyncIterator[TrytonErp]:
    connector = TrytonErp("MTY", mty.url, "admin", PASSWORD)
    yield connector
    await connector.aclose()


async def bom_inputs(erp: TrytonErp) -> list[tuple]:
    """Every BOM input exactly as Tryton stores it."""
    rows = await erp.rpc.search_read(
        "production.bom.input", [], ["bom", "product", "quantity", "unit"]
    )
    return sorted((r["id"], r["bom"], r["product"], r["quantity"], r["unit"]) for r in rows)


async def notes_with(erp: TrytonErp, key: str) -> list[dict]:
    notes = await erp.rpc.search_read("ir.note", [], ["resource", "message"])
    return [n for n in notes if f"idempotency-key: {key}\n" in n["message"]]


async def test_the_connector_reads_what_was_loaded_from_the_plant_dataset(erp: TrytonErp) -> None:
    docs = plant_documents("MTY")
    mbom = await erp.list_mbom()
    assert sorted((x.parent, x.component, x.component_revision, x.qty) for x in mbom) == sorted(
        (d["parent"], d["component"], d["component_revision"], d["qty"]) for d in docs["mbom_line"]
    )
    assert await erp.component_revisions("100-200") == {"200-100": "B", "500-100": "B"}
    orders = {
        (o.id, o.part, o.qty, o.due.isoformat(), o.status, o.critical)
        for o in (await erp.list_production_orders())
    }
    assert orders == {
        (d["id"], d["part"], d["qty"], str(d["due"]), d["status"], d.get("critical", False))
        for d in docs["production_order"]
    }
    stock = {(s.part, s.revision, s.location, s.qty) for s in await erp.list_inventory()}
    assert stock == {(d["part"], d["revision"], d["location"], d["qty"]) for d in docs["inventory"]}
    purchases = [
        (p.id, p.supplier, p.part, p.revision, p.qty) for p in await erp.list_purchase_orders()
    ]
    assert purchases == [
        (d["id"], d["supplier"], d["part"], d["revision"], d["qty"]) for d in docs["purchase_order"]
    ]
    routings = {r.id: r for r in await erp.list_routings()}
    for doc in docs["routing"]:
        ops = [(o.op_no, o.work_center, o.description) for o in routings[doc["id"]].operations]
        assert ops == [(o["op_no"], o["work_center"], o["description"]) for o in doc["operations"]]
        assert routings[doc["id"]].part == doc["part"]
    stock_record = await erp.get_stock("100-200|B|MTY-RM-01")
    assert stock_record["qty"] == 500 and stock_record["lots"] == ["100-200-B-MTY-RM-01"]

    # the sync's paging: small pages give the same lines; nothing changed since a later time
    pages, cursor = [], None
    while True:
        page = await erp.page("mbom_line", after=cursor, limit=25)
        pages += page.items
        cursor = page.next_cursor
        if not cursor:
            break
    assert len(pages) == len(mbom) and len(pages) > 25
    from datetime import UTC, datetime, timedelta

    later = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)
    assert (await erp.page("mbom_line", since=later)).items == []
    assert "Tryton" in await erp.system_version()


async def test_each_write_is_idempotent_and_its_compensation_restores_tryton_exactly(
    erp: TrytonErp,
) -> None:
    before_boms = await bom_inputs(erp)
    before_po = await erp.get_purchase_order("PUR-MTY-100-200")

    first = await erp.set_component_revision(
        "100-200", "B", "C", idempotency_key="T1:mbom:apply", change_id="T1"
    )
    assert first["lines_updated"] == 2 and first["parents"] == ["200-100", "500-100"]
    after_first = await bom_inputs(erp)
    again = await erp.set_component_revision(
        "100-200", "B", "C", idempotency_key="T1:mbom:apply", change_id="T1"
    )
    assert again["replayed"] is True and again["lines_updated"] == 2
    assert await bom_inputs(erp) == after_first  # the same key changed Tryton once
    assert len(await notes_with(erp, "T1:mbom:apply")) == 2  # one note per BOM touched, once
    assert await erp.component_revisions("100-200") == {"200-100": "C", "500-100": "C"}

    revised = await erp.revise_purchase_order(
        "PUR-MTY-100-200", "100-200", "C", "agreed", idempotency_key="T1:po:apply", change_id="T1"
    )
    assert revised["previous_revision"] == "B" and revised["previous_note"] is None
    assert (await erp.get_purchase_order("PUR-MTY-100-200")).revision == "C"
    state = await erp.rpc.search_read("purchase.purchase", [], ["state"])
    assert {s["state"] for s in state} == {"quotation"}  # quoted again after the edit

    disposed = await erp.set_disposition(
        "100-200|B|MTY-RM-01", "use-up", idempotency_key="T1:disp:apply", change_id="T1"
    )
    assert disposed["previous_disposition"] is None
    assert (await erp.get_stock("100-200|B|MTY-RM-01"))["disposition"] == "use-up"
    replayed = await erp.set_disposition(
        "100-200|B|MTY-RM-01", "use-up", idempotency_key="T1:disp:apply", change_id="T1"
    )
    assert replayed["replayed"] is True and len(await notes_with(erp, "T1:disp:apply")) == 1

    # compensations, as the rollback runs them
    await erp.set_disposition(
        "100-200|B|MTY-RM-01", None, idempotency_key="T1:disp:compensate", change_id="T1"
    )
    await erp.revise_purchase_order(
        "PUR-MTY-100-200", "100-200", "B", None, idempotency_key="T1:po:compensate", change_id="T1"
    )
    await erp.set_component_revision(
        "100-200", "C", "B", idempotency_key="T1:mbom:compensate", change_id="T1"
    )
    assert await bom_inputs(erp) == before_boms  # every input row as it was, ids included
    assert await erp.get_purchase_order("PUR-MTY-100-200") == before_po
    assert "disposition" not in await erp.get_stock("100-200|B|MTY-RM-01")
    writes = await erp.changeflow_writes("T1")
    assert Counter(w["idempotency_key"] for w in writes) == {
        "T1:mbom:apply": 2,
        "T1:po:apply": 1,
        "T1:disp:apply": 1,
        "T1:disp:compensate": 1,
        "T1:po:compensate": 1,
        "T1:mbom:compensate": 2,
    }


async def test_tryton_refusals_and_outages_map_to_the_connector_errors(
    erp: TrytonErp, mty: TrytonServer
) -> None:
    # a confirmed purchase: Tryton refuses to change its line, in its own words; nothing changes
    original = (await erp.rpc.search_read("purchase.purchase", [], ["party"]))[0]
    (confirmed,) = await erp.rpc.call(
        "model.purchase.purchase.copy", [original["id"]], {"reference": "PUR-MTY-CONFIRMED"}
    )
    address = await erp.rpc.search_read(
        "party.address", [["party", "=", original["party"]]], ["id"]
    )
    await erp.rpc.write("purchase.purchase", [confirmed], {"invoice_address": address[0]["id"]})
    await erp.rpc.button("purchase.purchase", "quote", [confirmed])
    await erp.rpc.button("purchase.purchase", "confirm", [confirmed])
    with pytest.raises(RejectedConnectorError) as refused:
        await erp.revise_purchase_order(
            "PUR-MTY-CONFIRMED", "100-200", "C", "x", idempotency_key="T2:po", change_id="T2"
        )
    assert "not allowed to modify the field" in str(refused.value)
    assert (await erp.get_purchase_order("PUR-MTY-CONFIRMED")).revision == "B"
    assert await notes_with(erp, "T2:po") == []

    # a missing object is a rejection naming it
    with pytest.raises(RejectedConnectorError, match="purchase order PUR-NOPE does not exist"):
        await erp.get_purchase_order("PUR-NOPE")

    # an expired session is renewed once, transparently
    auth = await erp.rpc._ensure_session()
    await erp.rpc._post("common.db.logout", [], auth)
    assert await erp.component_revisions("100-200")

    # a wrong password is refused; no password at all is a clear rejection
    wrong = TrytonErp("MTY", mty.url, "admin", "not-the-password")
    with pytest.raises(RejectedConnectorError, match="login refused"):
        await wrong.list_mbom()
    await wrong.aclose()
    with pytest.raises(RejectedConnectorError, match="CHANGEFLOW_TRYTON_PASSWORD"):
        credentials("MTY", env={})
    assert credentials("MTY", env={"CHANGEFLOW_TRYTON_MTY_PASSWORD": "p"}) == ("admin", "p")

    # Tryton's concurrency error is retryable; an unreachable server is transient
    assert isinstance(
        tryton_error("ERP MTY", ["ConcurrencyException", ["Records were modified"]]),
        TransientConnectorError,
    )
    down = TrytonErp("MTY", f"http://127.0.0.1:{free_port()}/mty/", "admin", PASSWORD)
    with pytest.raises(TransientConnectorError):
        await down.list_mbom()
    await down.aclose()


def test_a_plant_erp_is_chosen_in_the_configuration(tmp_path: Path) -> None:
    config = tmp_path / "changeflow.toml"
    config.write_text(
        '[changeflow]\n[[changeflow.plants]]\ncode = "MTY"\n'
        'erp = { kind = "tryton", url = "http://127.0.0.1:8200/changeflow_mty/" }\n'
        '[[changeflow.plants]]\ncode = "DET"\n'
    )
    settings = load_settings(config, env={})
    assert settings.plant_endpoint("MTY", "erp").kind == "tryton"
    assert settings.plant_endpoint("DET", "erp").kind == "rest"
    overridden = load_settings(env={"CHANGEFLOW_ERP_BRN": "tryton http://127.0.0.1:8201/brn/"})
    assert overridden.plant_endpoint("BRN", "erp").url == "http://127.0.0.1:8201/brn/"
    assert overridden.plant_endpoint("MTY", "erp").kind == "rest"


# -- end to end -----------------------------------------------------------------------------


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
