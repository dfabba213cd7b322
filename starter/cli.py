"""`changeflow`: the command line for analysts, approvers and operators.

`up` and `demo` run the embedded stack; `users` administers tokens in the store directly; every
other command talks to the HTTP API (CHANGEFLOW_API_URL, token in CHANGEFLOW_TOKEN or --token).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.live import Live

from domain.change_request import ChangeRequest
from domain.errors import describe_validation_error
from domain.stages import ChangeStage, is_final
from domain.state import ChangeState
from infra.settings import SettingsError, load_settings
from starter.api_client import ApiClient, ApiError
from starter.render import (
    audit_table,
    change_table,
    impact_markdown,
    plan_tree,
    policy_table,
    state_view,
    thread_view,
)

app = typer.Typer(help="changeflow: orchestrate manufacturing change.", no_args_is_help=True)
console = Console()
err = Console(stderr=True, soft_wrap=True)

TokenOption = typer.Option(None, "--token", help="API token (default: $CHANGEFLOW_TOKEN)")


def _fail(message: str, lines: list[str] | None = None, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    for line in lines or []:
        err.print(f"  - {line}")
    return typer.Exit(code)


def _client(token: str | None = None) -> ApiClient:
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise _fail(str(exc)) from exc
    return ApiClient(settings.api_url, token)


def _call(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except ApiError as exc:
        if len(exc.lines) > 1:
            raise _fail(f"the API refused ({exc.status}):", exc.lines) from exc
        raise _fail(f"{exc} ({exc.status})" if exc.status else str(exc)) from exc


def read_change_file(path: Path) -> ChangeRequest:
    """A YAML or JSON change file, validated; errors name the field and the reason."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise _fail(f"cannot read {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise _fail(
            f"{path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}"
        ) from exc
    if not isinstance(data, dict):
        raise _fail(f"{path} must hold one change (a mapping of fields)")
    try:
        return ChangeRequest.model_validate(data)
    except ValidationError as exc:
        raise _fail(f"{path} is not a valid change:", describe_validation_error(exc)) from exc


ErpOption = typer.Option(
    [],
    "--erp",
    help="PLANT=tryton: that plant's ERP is a local Tryton (started beside the simulator, "
    "loaded with the plant's data when new); repeatable",
)


def parse_erp(values: list[str]) -> dict[str, str]:
    """`["MTY=tryton"]` -> {"MTY": "tryton"}."""
    chosen = {}
    for value in values:
        plant, sep, kind = value.partition("=")
        if not sep or not plant or kind != "tryton":
            raise _fail(f"--erp {value}: expected PLANT=tryton (e.g. --erp MTY=tryton)")
        chosen[plant.strip().upper()] = kind
    return chosen


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
    from starter.stack import Stack, StackError, wait_until_interrupted

    settings = load_settings()
    stack = Stack(settings, reset_sim=reset_sim, dataset=dataset, erp=parse_erp(erp))
    try:
        stack.start(progress=lambda m: console.print(f"[dim]{m}[/]"))
    except StackError as exc:
        raise _fail(str(exc)) from exc
    console.print(
        f"[bold green]changeflow is up[/]  API {settings.api_url}  "
        f"Web UI {stack.ui_link()}  simulator {settings.simulator_url}"
    )
    console.print("Ctrl-C stops everything.")
    try:
        wait_until_interrupted(stack, progress=lambda m: console.print(f"[yellow]{m}[/]"))
    except StackError as exc:
        raise _fail(str(exc)) from exc
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
    from starter.demo import SCENARIOS, run_demo

    if scenario not in SCENARIOS:
        raise _fail(f"no scenario {scenario} (known: {', '.join(SCENARIOS)})")
    raise typer.Exit(
        run_demo(console, exit_when_done=exit_when_done, scenario=scenario, erp=parse_erp(erp))
    )


@app.command()
def submit(
    file: Path,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="print only the change id"),
    token: str | None = TokenOption,
) -> None:
    """Submit a change file (YAML or JSON); prints the change id."""
    request = read_change_file(file)
    body = request.model_dump(mode="json", exclude_none=True)
    result = _call(_client(token).post, "/api/changes", body)
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
    rows = _call(lambda: _client().get("/api/changes", stage=stage, limit=limit))
    console.print(change_table(rows))


@app.command()
def status(
    change_id: str,
    watch: bool = typer.Option(False, "--watch", "-w", help="follow live until it settles"),
) -> None:
    """Stage, approvals and tasks of one change."""
    client = _client()
    state = ChangeState.model_validate(_call(client.get, f"/api/changes/{change_id}"))
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
            state = ChangeState.model_validate(_call(client.get, f"/api/changes/{change_id}"))
        console.print(state_view(state))
        return
    with Live(state_view(state), console=console, refresh_per_second=4) as live:
        while not is_final(state.stage):
            time.sleep(1)
            state = ChangeState.model_validate(_call(client.get, f"/api/changes/{change_id}"))
            live.update(state_view(state))


@app.command()
def plan(
    change_id: str | None = typer.Argument(None, help="a change's id"),
    preview: Path | None = typer.Option(None, "--preview", help="a change file: plan it only"),
    token: str | None = TokenOption,
) -> None:
    """A change's rollout plan as a tree per wave and plant (or a change file's, unstarted)."""
    if (change_id is None) == (preview is None):
        raise _fail("give either a change id or --preview FILE")
    client = _client(token)
    if preview is not None:
        request = read_change_file(preview)
        view = _call(
            client.post, "/api/plan-preview", request.model_dump(mode="json", exclude_none=True)
        )
    else:
        view = _call(lambda: client.get(f"/api/changes/{change_id}/plan", limit=5000))
    console.print(plan_tree(view))
    if preview is not None:
        console.print("(nothing was started)")


policy_app = typer.Typer(
    help="The approval policy (rules in changeflow.toml).", no_args_is_help=True
)
app.add_typer(policy_app, name="policy")


@policy_app.command("explain")
def policy_explain(
    file: Path = typer.Argument(..., help="a change file"), token: str | None = TokenOption
) -> None:
    """Which rule asks for which approval of a change file, and why; starts nothing."""
    request = read_change_file(file)
    rules = _call(
        _client(token).post,
        "/api/policy-explain",
        request.model_dump(mode="json", exclude_none=True),
    )
    console.print(policy_table(rules))


@app.command()
def impact(change_id: str) -> None:
    """The impact report of a change, as markdown."""
    report = _call(
        _client().get,
        f"/api/changes/{change_id}/impact",
    )
    console.print(impact_markdown(report))


@app.command()
def assess(file: Path, token: str | None = TokenOption) -> None:
    """What a change file would touch, from the current digital thread (starts nothing)."""
    request = read_change_file(file)
    report = _call(
        _client(token).post,
        "/api/impact-preview",
        request.model_dump(mode="json", exclude_none=True),
    )
    console.print(impact_markdown(report))
    console.print(f"(thread version {report['thread_version']}; nothing was started)")


@app.command()
def sync(
    full: bool = typer.Option(False, "--full", help="replace the whole thread"),
    wait: bool = typer.Option(True, help="wait until it commits or fails"),
    token: str | None = TokenOption,
) -> None:
    """Pull every system of record into the digital thread now."""
    client = _client(token)
    started = _call(client.post, "/api/thread/sync", {"mode": "full" if full else "incremental"})
    workflow_id = started["workflow_id"]
    console.print(f"sync started: {workflow_id}")
    if not wait:
        return
    with console.status("syncing..."):
        while True:
            status = _call(client.get, f"/api/thread/sync/{workflow_id}")
            if status["status"] != "running":
                break
            time.sleep(1)
    outcome = status.get("outcome")
    if outcome is None:
        raise _fail(f"sync {workflow_id} ended {status['status']}")
    if outcome["status"] != "committed":
        raise _fail(
            f"sync {outcome['sync_id']} failed; the thread is unchanged: {outcome['error']}"
        )
    console.print(thread_view(_call(client.get, "/api/thread")))


@app.command()
def thread() -> None:
    """The digital thread: rows per table and recent syncs."""
    console.print(thread_view(_call(_client().get, "/api/thread")))


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
        from starter.cli_audit import verify

        raise typer.Exit(verify(change_id, as_json))
    if export is not None:
        from starter.cli_audit import export_package

        export_package(_client(), target, export)
        return
    data = _call(_client().get, f"/api/changes/{target}/audit")
    if as_json:
        console.print_json(data=data)
        return
    console.print(audit_table(target, data))


from starter import (  # noqa: E402, F401  (their commands use this module's helpers)
    cli_audit,
    cli_decisions,
)
from starter.cli_store import store_app  # noqa: E402
from starter.cli_tryton import tryton_app  # noqa: E402
from starter.cli_users import users_app  # noqa: E402  (it uses this module's helpers)

app.add_typer(users_app, name="users")
app.add_typer(tryton_app, name="tryton")
app.add_typer(store_app, name="store")


def main() -> None:
    app()


__all__ = ["app", "main", "read_change_file", "ChangeStage"]
