"""Changes from the command line: submit one, list them, follow one, its plan and impact, and
what a change file would touch before it is submitted."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.live import Live

from domain.change.stages import is_final
from domain.lifecycle.state import ChangeState
from starter.cli.common import TokenOption, api_client, call, console, fail, read_change_file
from starter.cli.render import change_table, impact_markdown, plan_tree, state_view

app = typer.Typer()


@app.command()
def submit(
    file: Path,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="print only the change id"),
    token: str | None = TokenOption,
) -> None:
    """Submit a change file (YAML or JSON); prints the change id."""
    request = read_change_file(file)
    body = request.model_dump(mode="json", exclude_none=True)
    result = call(api_client(token).post, "/api/changes", body)
    if quiet:
        print(result["change_id"])
        return
    console.print(f"submitted [bold]{result['change_id']}[/]")
    console.print(f"follow it: changeflow status {result['change_id']} --watch")
    console.print(f"Web UI: {result['links']['ui']}")


@app.command("list")
def list_changes(
    stage: str | None = typer.Option(None, help="only changes in this stage"), limit: int = 50
) -> None:
    """Every change, newest first."""
    rows = call(lambda: api_client().get("/api/changes", stage=stage, limit=limit))
    console.print(change_table(rows))


@app.command()
def status(
    change_id: str,
    watch: bool = typer.Option(False, "--watch", "-w", help="follow live until it settles"),
) -> None:
    """Stage, approvals and tasks of one change."""
    client = api_client()
    state = ChangeState.model_validate(call(client.get, f"/api/changes/{change_id}"))
    if not watch:
        console.print(state_view(state))
        return
    if not console.is_terminal:  # piped or logged: one line per stage, then the final view
        shown = 0
        while True:
            for entry in state.history[shown:]:
                note = f"  {entry.note}" if entry.note else ""
                print(f"{entry.at:%Y-%m-%d %H:%M:%S}  {entry.stage.value}{note}", flush=True)
            shown = len(state.history)
            if is_final(state.stage):
                break
            time.sleep(1)
            state = ChangeState.model_validate(call(client.get, f"/api/changes/{change_id}"))
        console.print(state_view(state))
        return
    with Live(state_view(state), console=console, refresh_per_second=4) as live:
        while not is_final(state.stage):
            time.sleep(1)
            state = ChangeState.model_validate(call(client.get, f"/api/changes/{change_id}"))
            live.update(state_view(state))


@app.command()
def plan(
    change_id: str | None = typer.Argument(None, help="a change's id"),
    preview: Path | None = typer.Option(None, "--preview", help="a change file: plan it only"),
    token: str | None = TokenOption,
) -> None:
    """A change's rollout plan as a tree per wave and plant (or a change file's, unstarted)."""
    if (change_id is None) == (preview is None):
        raise fail("give either a change id or --preview FILE")
    client = api_client(token)
    if preview is not None:
        request = read_change_file(preview)
        view = call(
            client.post, "/api/plan-preview", request.model_dump(mode="json", exclude_none=True)
        )
    else:
        view = call(lambda: client.get(f"/api/changes/{change_id}/plan", limit=5000))
    console.print(plan_tree(view))
    if preview is not None:
        console.print("(nothing was started)")


@app.command()
def impact(change_id: str) -> None:
    """The impact report of a change, as markdown."""
    report = call(
        api_client().get,
        f"/api/changes/{change_id}/impact",
    )
    console.print(impact_markdown(report))


@app.command()
def assess(file: Path, token: str | None = TokenOption) -> None:
    """What a change file would touch, from the current digital thread (starts nothing)."""
    request = read_change_file(file)
    report = call(
        api_client(token).post,
        "/api/impact-preview",
        request.model_dump(mode="json", exclude_none=True),
    )
    console.print(impact_markdown(report))
    console.print(f"(thread version {report['thread_version']}; nothing was started)")
