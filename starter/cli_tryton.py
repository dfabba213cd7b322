"""`changeflow tryton ...`: a plant's ERP on a local Tryton: create its database and load the
plant's data through JSON-RPC, and show its BOMs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import typer
from rich.console import Console
from rich.table import Table

from connectors.tryton.erp import TrytonErp
from infra.settings import load_settings
from starter.cli import _fail
from starter.stack import Stack

tryton_app = typer.Typer(help="A plant's ERP on a local Tryton.", no_args_is_help=True)
console = Console()


@tryton_app.command("init")
def tryton_init(
    plant: str = typer.Option(..., "--plant", help="the plant whose ERP Tryton becomes"),
    dataset: str = typer.Option("demo", help="the simulator's dataset to load the plant from"),
    port: int = typer.Option(8200, help="the port trytond listens on"),
    reset: bool = typer.Option(False, help="replace an existing database"),
) -> None:
    """Create the plant's Tryton database under the stack's home and load its products, BOMs,
    routings, stock, open production and purchase orders (through Tryton's JSON-RPC API)."""
    from connectors.tryton import local
    from connectors.tryton.server import TrytonServerError

    settings = load_settings()
    plant = plant.upper()
    if plant not in settings.plant_codes():
        raise _fail(f"plant {plant} does not exist (known: {', '.join(settings.plant_codes())})")
    server = local.local_server(settings.home, plant, port)
    if server.exists() and not reset:
        raise _fail(f"{server.db_file} exists; --reset replaces it")
    say = lambda m: console.print(f"[dim]{m}[/]")  # noqa: E731
    password = local.admin_password(settings.home, plant)
    try:
        local.fresh_database(settings.home, plant, port, password, say)
        server.start()
        try:
            counts = local.load_plant(server, plant, password, dataset, say)
        finally:
            server.stop()
    except (TrytonServerError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    console.print(
        f"[bold green]{plant}'s ERP is on Tryton[/]: "
        + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
    )
    console.print(
        f"serve it: trytond -c {server.config} -d {server.database}\n"
        f"then in changeflow.toml, plant {plant}: "
        f'erp = {{ kind = "tryton", url = "{server.url}" }}\n'
        "and CHANGEFLOW_TRYTON_PASSWORD in the environment of the worker and the API "
        f"(the admin password is in {local.plant_dir(settings.home, plant) / local.PASSWORD_FILE}"
        " unless CHANGEFLOW_TRYTON_PASSWORD was set)"
    )


@tryton_app.command("boms")
def tryton_boms(
    plant: str = typer.Option(..., "--plant"),
    component: str | None = typer.Option(None, help="only BOMs consuming this part"),
) -> None:
    """The plant's BOMs as Tryton holds them (the configured Tryton ERP of the plant)."""
    from connectors.errors import ConnectorError
    from connectors.registry import Connectors

    settings = load_settings()
    try:
        erp = Connectors(settings).erp(plant.upper())
        if not isinstance(erp, TrytonErp):
            raise _fail(f"{plant}'s ERP is not Tryton (see changeflow.toml or --erp)")
        console.print(asyncio.run(bom_table(erp, component)))
    except ConnectorError as exc:
        from connectors.tryton.local import PASSWORD_FILE, plant_dir

        local_password = plant_dir(settings.home, plant.upper()) / PASSWORD_FILE
        hint = f" (the local stack's is in {local_password})" if local_password.exists() else ""
        raise _fail(str(exc) + hint) from exc


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
