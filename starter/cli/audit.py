"""`changeflow audit verify [ID]`: the audit trail checked straight in the store (every chain
recomputed, the latest signed checkpoint compared), naming the first broken record;
`changeflow audit ID --export DIR`: the change's audit package as JSON, HTML and PDF; and
`changeflow trace SERIAL | --change ID`: what a unit was built under, and the units a change's
cut-in divides."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from infra.audit_key import public_key
from infra.settings import load_settings
from starter.cli.common import TokenOption, api_client, call, fail
from starter.cli.render import audit_table
from starter.client import ApiClient, ApiError
from store.audit.anchors import verify_store
from store.db import get_engine

console = Console()
app = typer.Typer()


def verify(change_id: str | None, as_json: bool) -> int:
    """0 when intact, 1 when not."""
    result = verify_store(get_engine(load_settings().db_url), public_key(), change_id)
    if as_json:
        console.print_json(result.model_dump_json())
        return 0 if result.intact else 1
    scope = change_id or "every change"
    if result.intact:
        console.print(
            f"[green]intact[/]: {result.records} records in {result.chains} chain(s) of {scope}; "
            f"latest checkpoint: {result.anchor}"
        )
        return 0
    console.print(
        f"[bold red]broken[/]: {scope} ({result.records} records, {result.chains} chains)"
    )
    for chain in result.broken:
        console.print(f"  {chain.change_id}: first broken record {chain.first_broken}")
        for problem in chain.problems:
            console.print(f"    - {problem}")
    for problem in result.problems:
        console.print(f"  - {problem}")
    return 1


def export_package(client: ApiClient, change_id: str, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for fmt in ("json", "html", "pdf"):
        try:
            content = client.get_bytes(f"/api/changes/{change_id}/audit", format=fmt)
        except ApiError as exc:
            raise fail(f"{exc} ({exc.status})") from exc
        path = directory / f"{change_id}-audit.{fmt}"
        path.write_bytes(content)
        console.print(f"wrote {path}")


@app.command()
def trace(
    serial: str | None = typer.Argument(None, help="a unit's serial number"),
    change: str | None = typer.Option(None, "--change", help="a change: its units per plant"),
    token: str | None = TokenOption,
) -> None:
    """The change, part revisions and documents a unit was built under; or, with --change, the
    units built before and after the change's cut-in in each plant."""
    if (serial is None) == (change is None):
        raise fail("give either a serial or --change ID")
    client = api_client(token)
    if serial is not None:
        console.print(_unit_table(call(client.get, f"/api/trace/units/{serial}")))
        return
    for group in call(client.get, f"/api/changes/{change}/units"):
        cut = group["cut_in"]
        console.print(
            f"[bold]{cut['plant']}[/]: {cut['part']} {cut['from_revision']} -> "
            f"{cut['to_revision']}, cut in {cut['at'][:19]} UTC: "
            f"{len(group['before'])} unit(s) before, {len(group['after'])} after"
        )
        for label in ("before", "after"):
            for row in group[label]:
                unit = row["unit"]
                mine = next(c for c in row["components"] if c["part"] == cut["part"])
                flag = "" if mine["consistent"] else "  [red]NOT the revision in force[/]"
                console.print(
                    f"  {label:6} {unit['serial']}  {unit['completed_at'][:19]}  "
                    f"{cut['part']} rev {mine['built_with']}{flag}"
                )


def _unit_table(data: dict) -> Table:
    unit = data["unit"]
    table = Table(
        title=f"unit {unit['serial']}: {unit['part']} built in {unit['plant']} at "
        f"{unit['completed_at'][:19]} UTC"
    )
    for column in ("component", "built with", "change in force", "revision in force", ""):
        table.add_column(column)
    for c in data["components"]:
        table.add_row(
            c["part"],
            c["built_with"],
            c["change_id"] or "-",
            c["expected"] or "-",
            ("[green]ok[/]" if c["consistent"] else "[red]differs[/]")
            + (" (under deviation)" if c["deviation"] else ""),
        )
    docs = ", ".join(f"{d['kind']} {d['id']} rev {d['revision']}" for d in unit["documents"])
    table.caption = f"built with {docs}" if docs else None
    return table


@app.command()
def audit(
    target: str = typer.Argument(..., help="a change id; or `verify` to check the audit trail"),
    change_id: str | None = typer.Argument(None, help="with `verify`: one change (default: all)"),
    export: Path | None = typer.Option(
        None, "--export", help="write the audit package (JSON, HTML, PDF) into this directory"
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """A change's audit trail with its integrity check; `audit verify [ID]` checks every chain
    and the latest signed checkpoint straight in the store (exit 1 when anything is broken);
    `--export DIR` writes the change's audit package."""
    if target == "verify":
        raise typer.Exit(verify(change_id, as_json))
    if export is not None:
        export_package(api_client(), target, export)
        return
    data = call(api_client().get, f"/api/changes/{target}/audit")
    if as_json:
        console.print_json(data=data)
        return
    console.print(audit_table(target, data))
