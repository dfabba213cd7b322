"""Connectors against the running simulator: business calls, error types, paging, idempotency."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from connectors.errors import NotFoundError, RejectedConnectorError, TransientConnectorError
from connectors.plm import RestPlm
from connectors.registry import Connectors
from connectors.sim.app import create_app
from infra.settings import Settings
from tests.support.helpers import free_port
from tests.support.servers import ServerThread


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    server = ServerThread(create_app(tmp_path_factory.mktemp("sim") / "sim.db"), free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def connectors(sim: ServerThread) -> AsyncIterator[Connectors]:
    c = Connectors(Settings(simulator_url=sim.url))
    yield c
    await c.aclose()


async def test_reads_every_system(connectors: Connectors) -> None:
    assert len(await connectors.plm().list_parts()) >= 140
    mes = connectors.mes("DET")
    assert any(wi.id == "WI-DET-500-100-10" for wi in await mes.list_work_instructions())
    programs = await mes.list_nc_programs()
    equipment = {e.id for e in await mes.list_equipment()}
    assert programs and {p.equipment for p in programs} <= equipment
    assert {line.plant for line in await connectors.erp("BRN").list_mbom()} == {"BRN"}


async def test_paging_returns_every_item_once(connectors: Connectors) -> None:
    plm = connectors.plm()
    small, cursor = [], None
    while True:
        page = await plm.page("ebom_line", after=cursor, limit=7)
        small += page.items
        cursor = page.next_cursor
        if not cursor:
            break
    big = await plm.list_ebom()
    key = lambda x: (x.parent, x.child)  # noqa: E731
    assert sorted(map(key, small)) == sorted(map(key, big))
    assert len({key(x) for x in small}) == len(small) > 7
    with pytest.raises(ValueError, match="no collection of routing"):
        await plm.page("routing")


async def test_errors_are_typed(connectors: Connectors, sim: ServerThread) -> None:
    with pytest.raises(NotFoundError):
        await connectors.plm().get_part("NOPE-1")
    with pytest.raises(RejectedConnectorError, match="is at revision A"):
        await connectors.plm().release_revision(
            "100-300", "C", "B", idempotency_key="t-1", change_id="T"
        )
    httpx.post(
        f"{sim.url}/sim/faults",
        json={"path_contains": "/erp/MTY/mbom", "method": "GET", "status": 503},
    )
    with pytest.raises(TransientConnectorError, match="503"):
        await connectors.erp("MTY").list_mbom()
    assert await connectors.erp("MTY").list_mbom()  # the fault was used up
    dead = Connectors(Settings(simulator_url=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(TransientConnectorError):
        await dead.plm().get_part("100-200")
    await dead.aclose()


async def test_writes_are_idempotent_by_key(connectors: Connectors, sim: ServerThread) -> None:
    erp = connectors.erp("BRN")
    first = await erp.set_component_revision(
        "100-210", "A", "B", idempotency_key="k-brn", change_id="T-1"
    )
    again = await erp.set_component_revision(
        "100-210", "A", "B", idempotency_key="k-brn", change_id="T-1"
    )
    assert first["replayed"] is False and again["replayed"] is True
    assert {k: v for k, v in first.items() if k != "replayed"} == {
        k: v for k, v in again.items() if k != "replayed"
    }
    with pytest.raises(RejectedConnectorError, match="different request"):
        await erp.set_component_revision(
            "100-210", "A", "C", idempotency_key="k-brn", change_id="T-1"
        )
    ledger = httpx.get(f"{sim.url}/sim/ledger", params={"change_id": "T-1"}).json()
    assert len(ledger) == 1
    entry = ledger[0]
    assert (entry["idempotency_key"], entry["system"], entry["plant"], entry["action"]) == (
        "k-brn",
        "ERP",
        "BRN",
        "set_component_revision",
    )
    assert set((await erp.component_revisions("100-210")).values()) == {"B"}
    # the ERP's where-used answers exactly what the whole MBOM listing holds for the part
    every = await erp.list_mbom()
    for part in {line.component for line in every}:
        assert await erp.component_revisions(part) == {
            line.parent: line.component_revision for line in every if line.component == part
        }
    assert await erp.component_revisions("NO-SUCH-PART") == {}


async def test_write_without_key_is_refused(sim: ServerThread) -> None:
    response = httpx.post(
        f"{sim.url}/erp/DET/mbom/component-revision",
        json={"component": "100-200", "from_revision": "B", "to_revision": "C"},
    )
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["detail"]


def test_sim_db_path_created(tmp_path: Path) -> None:
    create_app(tmp_path / "nested" / "sim.db")
    assert (tmp_path / "nested" / "sim.db").exists()


async def test_every_call_is_a_client_span(connectors: Connectors) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import connectors.http as http

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    original = http._tracer
    http._tracer = provider.get_tracer("test")
    try:
        await connectors.plm().get_part("100-200")
        with pytest.raises(NotFoundError):
            await connectors.plm().get_part("NOPE-2")
        await connectors.erp("DET").set_component_revision(
            "100-300", "A", "B", idempotency_key="span-key", change_id="T-span"
        )
    finally:
        http._tracer = original
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["PLM GET", "PLM GET", "ERP DET POST"]
    assert spans[0].attributes["http.response.status_code"] == 200
    assert spans[1].status.status_code.name == "ERROR"
    assert spans[2].attributes["changeflow.idempotency_key"] == "span-key"


@pytest.mark.parametrize("number", ["../../sim/faults", "a/b", "..", "100-200?x=1#y"])
async def test_identifiers_are_one_encoded_path_segment(sim: ServerThread, number: str) -> None:
    """Defect 9: a part number went into the URL as is (`../../sim/faults` reached the
    simulator's fault endpoint)."""
    sent: list[bytes] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request.url.raw_path)

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as client:
        plm = RestPlm(f"{sim.url}/plm", client=client)
        with pytest.raises(NotFoundError):
            await plm.get_part(number)
        with pytest.raises((NotFoundError, RejectedConnectorError)):
            await plm.release_revision(
                number, "C", "B", idempotency_key=f"k-{number}", change_id="CHG-ENC"
            )
    assert sent and all(path.startswith(b"/plm/parts/") for path in sent), sent
    assert all(path.count(b"/") == 3 or path.endswith(b"/revisions") for path in sent)
