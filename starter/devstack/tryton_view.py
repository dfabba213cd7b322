"""What a plant on Tryton holds, as rich tables: its BOMs and the notes a change's writes left;
and which plants of the embedded stack run their ERP on Tryton."""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table

from connectors.tryton.erp import TrytonErp
from starter.devstack.stack import Stack


async def bom_table(
    erp: TrytonErp, component: str | None, components: list[str] | None = None, title: str = ""
) -> Table:
    """Tryton's BOM inputs (optionally of some components), read through the connector."""
    wanted = set(components or []) | ({component} if component else set())
    try:
        lines = await erp.list_mbom()
    finally:
        await erp.aclose()
    table = Table(title=title or f"Tryton BOMs of {erp.plant}")
    for column in ("BOM (output)", "input product", "qty"):
        table.add_column(column)
    for line in sorted(lines, key=lambda x: (x.parent, x.component)):
        if wanted and line.component not in wanted:
            continue
        table.add_row(line.parent, f"{line.component}/{line.component_revision}", f"{line.qty:g}")
    return table


async def tryton_writes_table(erp: TrytonErp, change_id: str) -> Table:
    """What a change wrote in Tryton: the notes its writes left on each record."""
    try:
        writes = await erp.changeflow_writes(change_id)
    finally:
        await erp.aclose()
    table = Table(title=f"what {change_id} changed in Tryton ({erp.plant}), from Tryton's notes")
    for column in ("record", "change", "idempotency key"):
        table.add_column(column)
    for write in writes:
        table.add_row(write["resource"], write["what"], write["idempotency_key"])
    return table


def tryton_plants(stack: Stack) -> dict[str, Callable[[], TrytonErp]]:
    """plant -> a maker of its Tryton connector, for the plants the stack put on Tryton."""

    def maker(plant: str) -> Callable[[], TrytonErp]:
        url = stack.env[f"CHANGEFLOW_ERP_{plant}"].partition(" ")[2]
        password = stack.env[f"CHANGEFLOW_TRYTON_{plant}_PASSWORD"]
        return lambda: TrytonErp(plant, url, "admin", password)

    return {plant: maker(plant) for plant, kind in sorted(stack.erp.items()) if kind == "tryton"}
