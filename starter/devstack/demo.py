"""`make demo`: the embedded stack, the sample change submitted, approved by the demo approvers,
followed to completed, and what changed in each system shown. The stack stays up until Ctrl-C.

The demo reseeds the simulated plant systems each run, so the bracket starts at rev B again.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import Engine

from domain.approvals.decisions import Role
from domain.change.files import parse_change_file
from domain.change.request import ChangeRequest
from domain.change.stages import is_final
from domain.lifecycle.state import ChangeState
from infra.settings import load_settings
from starter.client import ApiClient, ApiError
from starter.devstack.stack import Stack, StackError, wait_until_interrupted
from starter.devstack.tryton_view import bom_table, tryton_plants, tryton_writes_table
from store.credentials import set_password
from store.db import get_engine
from store.users import add_user

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCENARIOS = {
    "part": EXAMPLES / "eco-bracket-rev-c.yaml",  # bracket 100-200 rev B -> C, two plants
    "process": EXAMPLES / "process-change-takt.yaml",  # a routing operation's standard time
    "release": EXAMPLES / "mes-release.yaml",  # MES 11.2 in MTY: backup, cutover, smoke check
    "equipment": EXAMPLES / "equipment-spindle.yaml",  # a new spindle on M-DET-02
}
DEMO_USERS: dict[str, tuple[Role, str | None]] = {
    "maria.engineer": (Role.analyst, None),
    "eng.kim": (Role.engineering, None),
    "qa.lee": (Role.quality, None),
    "det.prod": (Role.production, "DET"),
    "mty.prod": (Role.production, "MTY"),
    "brn.prod": (Role.production, "BRN"),
    "sc.ortiz": (Role.supply_chain, None),
    "safety.ng": (Role.safety, None),
    "it.ops": (Role.it_ot, None),
    "ops.admin": (Role.admin, None),
}


PASSWORDS_FILE = "demo-passwords.json"


def demo_passwords(engine: Engine, home: Path) -> dict[str, str]:
    """Each demo user's signing password: made once, at random, kept in the stack's home
    (`.changeflow/demo-passwords.json`, mode 600) so that people can sign as them too."""
    path = home / PASSWORDS_FILE
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    for name in DEMO_USERS:
        known.setdefault(name, secrets.token_urlsafe(12))
        set_password(engine, name, known[name])  # the store may be new; the file is not
    home.mkdir(parents=True, exist_ok=True)
    # mode 600 from the start (never readable by others, not even for a moment), then in place
    fresh = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    with os.fdopen(os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(json.dumps(known, indent=2))
    os.replace(fresh, path)
    return known


def run_demo(
    console: Console,
    *,
    exit_when_done: bool = False,
    timeout: float = 180.0,
    scenario: str = "part",
    erp: dict[str, str] | None = None,
) -> int:
    settings = load_settings()
    stack = Stack(settings, reset_sim=True, erp=erp or {})
    console.rule("[bold]changeflow demo")
    try:
        stack.start(progress=lambda m: console.print(f"[dim]{m}[/]"))
    except StackError as exc:
        console.print(f"[bold red]could not start the stack:[/] {exc}")
        return 1
    try:
        change_id = _run_change(
            console,
            settings.api_url,
            settings.simulator_url,
            get_engine(settings.db_url),
            stack,
            timeout,
            SCENARIOS[scenario],
            settings.home,
        )
    except (ApiError, TimeoutError, httpx.HTTPError) as exc:
        console.print(f"[bold red]demo failed:[/] {exc}")
        stack.stop()
        return 1
    except BaseException:
        stack.stop()
        raise
    console.print(f"\nWeb UI: [link]{stack.ui_link(change_id)}[/link]")
    console.print(f"API:    {settings.api_url}/docs    status: changeflow status {change_id}")
    if exit_when_done:
        stack.stop()
        return 0
    console.print("\nThe stack keeps running. Ctrl-C stops it.")
    try:
        wait_until_interrupted(stack, progress=lambda m: console.print(f"[yellow]{m}[/]"))
    except StackError as exc:
        console.print(f"[bold red]{exc}[/]")
        return 1
    return 0


def _run_change(
    console: Console,
    api_url: str,
    sim_url: str,
    engine,
    stack: Stack,
    timeout: float,
    example: Path,
    home: Path,
) -> str:
    tokens = {
        name: add_user(engine, name, role, plant, rotate=True)
        for name, (role, plant) in DEMO_USERS.items()
    }
    passwords = demo_passwords(engine, home)
    request = parse_change_file(example.read_text(), example)
    analyst = ApiClient(api_url, tokens["maria.engineer"])
    tryton = tryton_plants(stack)
    parts = sorted({item.part for item in request.part_items()})
    for plant, erp in tryton.items():
        console.print(asyncio.run(bom_table(erp(), None, parts, f"Tryton BOMs of {plant}, before")))
    built_before = [] if tryton else _build_units(sim_url, request)
    created = analyst.post("/api/changes", request.model_dump(mode="json", exclude_none=True))
    change_id = created["change_id"]
    console.print(f"\nsubmitted [bold]{change_id}[/]: {request.title}")

    state = _follow(
        console,
        analyst,
        change_id,
        lambda s: s.stage.value == "awaiting_approval" or is_final(s.stage),
        timeout,
    )
    if state.impact:
        i = state.impact
        console.print(
            f"impact: risk [bold]{i.risk_level.value}[/] ({i.risk_score:g}), plants "
            f"{', '.join(i.plants)}, end items {', '.join(i.end_items)}"
        )
        console.print("        " + ", ".join(f"{k} {v}" for k, v in i.counts.items()))
    if state.pilot_plant:
        rest = sorted({t.plant for t in state.tasks if t.plant and t.wave > 1})
        central = "central systems, then " if any(t.plant is None for t in state.tasks) else ""
        console.print(
            f"plan: {len(state.tasks)} tasks; {central}pilot plant [bold]{state.pilot_plant}[/]"
            + (f" (read back before {', '.join(rest)})" if rest else "")
        )
    for required in state.approvals.required:
        user = next(
            name
            for name, (role, plant) in DEMO_USERS.items()
            if role == required.role
            and (plant == required.plant or not required.plant)
            and name != state.requested_by
        )
        ApiClient(api_url, tokens[user]).post(
            f"/api/changes/{change_id}/approvals",
            {
                "decision": "approve",
                "role": required.role.value,
                "plant": required.plant,
                "comment": "approved in the demo",
                "password": passwords[user],
                "revision_hash": state.revision_hash,
            },
        )
        console.print(f"approved and signed by {user} ({required.label()})")

    state = _follow(
        console,
        analyst,
        change_id,
        lambda s: is_final(s.stage) or s.stage.value == "on_hold",
        timeout,
    )
    for plant in state.plant_progress:  # each ran as its own workflow, the pilot first
        console.print(f"  wave {plant.wave} {plant.label()}  [dim]{change_id}.{plant.plant}[/]")
    colour = "green" if state.stage.value == "completed" else "red"
    console.print(f"\n[bold {colour}]{change_id} is {state.stage.value}[/]: {state.outcome}")
    _print_changes(console, sim_url, change_id)
    for plant, erp in tryton.items():
        console.print(asyncio.run(bom_table(erp(), None, parts, f"Tryton BOMs of {plant}, after")))
        console.print(asyncio.run(tryton_writes_table(erp(), change_id)))
    if tryton:
        console.print(
            "[dim]traceability is not shown: the simulated MES builds units from the simulator's "
            "BOMs, not Tryton's[/]"
        )
    if state.stage.value == "completed" and built_before:
        parts = {item.part for item in request.part_items()}
        _print_trace(console, analyst, parts, built_before, _build_units(sim_url, request))
    if state.stage.value != "completed":
        raise TimeoutError(f"the change ended {state.stage.value}, not completed")
    return change_id


_printed: dict[str, int] = {}


def _follow(
    console: Console, client: ApiClient, change_id: str, until, timeout: float
) -> ChangeState:
    """Print each new stage as it happens until `until(state)`."""
    deadline = time.monotonic() + timeout
    while True:
        state = ChangeState.model_validate(client.get(f"/api/changes/{change_id}"))
        for entry in state.history[_printed.get(change_id, 0) :]:
            note = f"  [dim]{entry.note}[/]" if entry.note else ""
            console.print(f"  {entry.at:%H:%M:%S}  stage [bold]{entry.stage.value}[/]{note}")
        _printed[change_id] = len(state.history)
        if until(state):
            return state
        if time.monotonic() > deadline:
            raise TimeoutError(f"{change_id} is still {state.stage.value} after {timeout:.0f}s")
        time.sleep(0.3)


def _print_changes(console: Console, sim_url: str, change_id: str) -> None:
    ledger = httpx.get(f"{sim_url}/sim/ledger", params={"change_id": change_id}, timeout=10).json()
    table = Table(title=f"what {change_id} changed in each system (simulator ledger)")
    for column in ("system", "plant", "action", "object", "result"):
        table.add_column(column)
    for entry in ledger:
        response = entry["response"]
        result = ", ".join(
            f"{k}={v}"
            for k, v in response.items()
            if k in ("current_revision", "revision", "lines_updated", "version")
        )
        table.add_row(
            entry["system"], entry["plant"] or "-", entry["action"], entry["target"], result
        )
    console.print(table)


def _build_units(sim_url: str, request: ChangeRequest) -> list[str]:
    """Units of the assemblies using the changed parts, completed now in each plant's MES."""
    parts = {item.part for item in request.part_items()}
    serials = []
    for plant in httpx.get(f"{sim_url}/sim/plants", timeout=10).json():
        code = plant["code"]
        lines = httpx.get(f"{sim_url}/erp/{code}/mbom", timeout=10).json()["items"]
        for parent in sorted({line["parent"] for line in lines if line["component"] in parts})[:1]:
            made = httpx.post(
                f"{sim_url}/sim/units", json={"plant": code, "part": parent}, timeout=10
            )
            if made.status_code == 201:
                serials += [u["serial"] for u in made.json()]
    return serials


def _print_trace(
    console: Console, client: ApiClient, parts: set[str], before: list[str], after: list[str]
) -> None:
    """What each unit was built under (`changeflow trace SERIAL`)."""
    console.print("\n[bold]traceability[/] (units the MES completed before and after the cut-in)")
    stale = False
    for label, serials in (("before", before), ("after ", after)):
        for serial in serials:
            data = client.get(f"/api/trace/units/{serial}")
            for c in data["components"]:
                if c["part"] not in parts:
                    continue
                under = c["change_id"] or "the previous release"
                flag = "" if c["consistent"] else f" [red]!= rev {c['expected']} in force[/]"
                stale = stale or not c["consistent"]
                console.print(
                    f"  {label} {serial}: {c['part']} rev {c['built_with']} (under {under})" + flag
                )
    if stale:
        console.print(
            "  [dim](the demo resets the simulated plants each run; changeflow's record keeps the "
            "previous run's change in force, so units built after the reset are flagged)[/]"
        )
