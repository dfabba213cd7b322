"""Issue 11: one plant's ERP on a real Tryton server. The connector's reads and writes against
trytond started here (its template database created once per session, copied per module); the
change end to end on it is in test_tryton_plant.py."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connectors.errors import RejectedConnectorError, TransientConnectorError
from connectors.tryton import mapping as m
from connectors.tryton.erp import TrytonErp
from connectors.tryton.load import plant_documents
from connectors.tryton.rpc import TrytonRpc, credentials, tryton_error
from connectors.tryton.server import TrytonServer
from infra.settings import load_settings
from tests.support.helpers import free_port
from tests.support.tryton import PASSWORD, bom_inputs, load_mty, serve


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


async def test_only_changeflows_own_notes_on_the_record_count_as_an_earlier_write(
    erp: TrytonErp, mty: TrytonServer
) -> None:
    """Issue 21, defect 8: keys are predictable (`change:task:compensate`). A clerk with a Tryton
    login of their own pre-writes the note a rollback would look for; the undo must still
    happen. And changeflow's own note on another record does not answer for this one."""
    groups = [g["id"] for g in await erp.rpc.search_read("res.group", [], ["id"])]
    await erp.rpc.create(
        "res.user",
        [
            {
                "login": "clerk",
                "name": "Plant clerk",
                "password": "clerk-password-2026",
                "groups": [["add", groups]],
            }
        ],
    )
    clerk = TrytonRpc("ERP MTY", mty.url, "clerk", "clerk-password-2026")
    po = (
        await erp.rpc.search_read(
            "purchase.purchase", [["reference", "=", "PUR-MTY-100-200"]], ["id"]
        )
    )[0]
    forged = m.write_note("T9", "T9:po:compensate", "restored", {"id": "PUR-MTY-100-200"})
    await clerk.create(
        "ir.note", [{"resource": f"purchase.purchase,{po['id']}", "message": forged}]
    )
    await clerk.aclose()

    applied = await erp.revise_purchase_order(
        "PUR-MTY-100-200", "100-200", "C", "agreed", idempotency_key="T9:po:apply", change_id="T9"
    )
    assert applied["replayed"] is False
    undone = await erp.revise_purchase_order(
        "PUR-MTY-100-200", "100-200", "B", None, idempotency_key="T9:po:compensate", change_id="T9"
    )
    assert undone["replayed"] is False  # the clerk's note was not taken for changeflow's undo
    assert (await erp.get_purchase_order("PUR-MTY-100-200")).revision == "B"
    assert {w["idempotency_key"] for w in await erp.changeflow_writes("T9")} == {
        "T9:po:apply",
        "T9:po:compensate",
    }  # the clerk's note is not listed as one of changeflow's writes

    # changeflow's own note with the same key on another record answers nothing here
    await erp.set_disposition(
        "100-200|B|MTY-RM-01", "scrap", idempotency_key="T9:disp", change_id="T9"
    )
    other = await erp.set_disposition(
        "610-003|A|MTY-RM-01", "scrap", idempotency_key="T9:disp", change_id="T9"
    )
    assert other["replayed"] is False
    assert (await erp.get_stock("610-003|A|MTY-RM-01"))["disposition"] == "scrap"
