"""`changeflow tryton ...`: a plant's ERP on a local Tryton: create its database and load the
plant's data through JSON-RPC, and show its BOMs."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console

from connectors.tryton.erp import TrytonErp
from infra.settings import load_settings
from starter.cli.common import fail
from starter.devstack.tryton_view import bom_table

app = typer.Typer(help="A plant's ERP on a local Tryton.", no_args_is_help=True)
console = Console()


@app.command("init")
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
        raise fail(f"plant {plant} does not exist (known: {', '.join(settings.plant_codes())})")
    server = local.local_server(settings.home, plant, port)
    if server.exists() and not reset:
        raise fail(f"{server.db_file} exists; --reset replaces it")
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
        raise fail(str(exc)) from exc
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


@app.command("boms")
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
            raise fail(f"{plant}'s ERP is not Tryton (see changeflow.toml or --erp)")
        console.print(asyncio.run(bom_table(erp, component)))
    except ConnectorError as exc:
        from connectors.tryton.local import PASSWORD_FILE, plant_dir

        local_password = plant_dir(settings.home, plant.upper()) / PASSWORD_FILE
        hint = f" (the local stack's is in {local_password})" if local_password.exists() else ""
        raise fail(str(exc) + hint) from exc
