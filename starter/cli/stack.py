"""`changeflow up` and `changeflow demo`: the embedded stack, and a sample change run on it."""

from __future__ import annotations

import typer

from infra.settings import load_settings
from starter.cli.common import ErpOption, console, fail, parse_erp

app = typer.Typer()


@app.command()
def up(
    reset_sim: bool = typer.Option(False, help="reseed the simulated plant systems"),
    dataset: str = typer.Option(
        "demo",
        help="simulator data when (re)seeded: demo, large "
        "(300k parts, 5 plants) or a number of parts",
    ),
    erp: list[str] = ErpOption,
) -> None:
    """Start the embedded stack (Temporal + Web UI, simulator, worker, API) until Ctrl-C."""
    from starter.devstack.stack import Stack, StackError, wait_until_interrupted

    settings = load_settings()
    stack = Stack(settings, reset_sim=reset_sim, dataset=dataset, erp=parse_erp(erp))
    try:
        stack.start(progress=lambda m: console.print(f"[dim]{m}[/]"))
    except StackError as exc:
        raise fail(str(exc)) from exc
    console.print(
        f"[bold green]changeflow is up[/]  API {settings.api_url}  "
        f"Web UI {stack.ui_link()}  simulator {settings.simulator_url}"
    )
    console.print("Ctrl-C stops everything.")
    try:
        wait_until_interrupted(stack, progress=lambda m: console.print(f"[yellow]{m}[/]"))
    except StackError as exc:
        raise fail(str(exc)) from exc
    console.print("stopped.")


@app.command()
def demo(
    exit_when_done: bool = typer.Option(
        False, "--exit", help="stop the stack once the change completes"
    ),
    scenario: str = typer.Option(
        "part",
        help="part: bracket 100-200 rev B -> C in two plants (pilot first); "
        "process: a routing operation's standard time in DET; "
        "release: MES 11.2 in MTY (backup, cutover, smoke check); "
        "equipment: a new spindle on M-DET-02 (safety, IQ/OQ/PQ, NC programs, master data)",
    ),
    erp: list[str] = ErpOption,
) -> None:
    """Run a sample change end to end on the embedded stack (it stays up until Ctrl-C)."""
    from starter.devstack.demo import SCENARIOS, run_demo

    if scenario not in SCENARIOS:
        raise fail(f"no scenario {scenario} (known: {', '.join(SCENARIOS)})")
    raise typer.Exit(
        run_demo(console, exit_when_done=exit_when_done, scenario=scenario, erp=parse_erp(erp))
    )
