"""A plant's ERP on a real trytond for tests: a database copied from the session's template,
served on a free port, and MTY's data loaded into it through the connector's loader."""

from __future__ import annotations

from pathlib import Path

from connectors.tryton.erp import TrytonErp
from connectors.tryton.load import PlantLoader, plant_documents
from connectors.tryton.rpc import TrytonRpc
from connectors.tryton.server import TrytonServer
from tests.support.helpers import free_port

PASSWORD = "tryton-test-admin"


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


async def bom_inputs(erp: TrytonErp) -> list[tuple]:
    """Every BOM input exactly as Tryton stores it."""
    rows = await erp.rpc.search_read(
        "production.bom.input", [], ["bom", "product", "quantity", "unit"]
    )
    return sorted((r["id"], r["bom"], r["product"], r["quantity"], r["unit"]) for r in rows)
