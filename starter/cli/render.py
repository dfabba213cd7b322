"""How the CLI shows things: rich tables for changes, state, audit; markdown for impact."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table
from rich.tree import Tree

from domain.approvals.decisions import outstanding
from domain.lifecycle.state import ChangeState
from domain.signatures.signing import Signature

STAGE_STYLE = {
    "completed": "green",
    "completed_with_deviations": "yellow",
    "rejected": "red",
    "rolled_back": "red",
    "expired": "red",
    "cancelled": "yellow",
    "on_hold": "bold red",
    "awaiting_approval": "yellow",
}
TASK_STYLE = {
    "done": "green",
    "failed": "red",
    "running": "cyan",
    "compensated": "yellow",
    "skipped": "yellow",
}


def _styled(value: str, styles: dict[str, str]) -> str:
    style = styles.get(value)
    return f"[{style}]{value}[/]" if style else value


def change_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="changes")
    for column in ("change", "stage", "type", "risk", "plants", "requester", "started"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["change_id"],
            _styled(row.get("stage") or "?", STAGE_STYLE),
            row.get("type") or "",
            row.get("risk_level") or "",
            ",".join(row.get("plants") or []),
            row.get("requester") or "",
            (row.get("started_at") or "")[:19],
        )
    return table


def state_view(state: ChangeState) -> Group:
    head = [
        f"[bold]{state.change_id}[/]  {state.title}",
        f"stage {_styled(state.stage.value, STAGE_STYLE)}   revision {state.revision}   "
        f"requested by {state.requested_by}   priority {state.priority}",
    ]
    if state.impact:
        i = state.impact
        head.append(
            f"risk [bold]{i.risk_level.value}[/] ({i.risk_score:g})   plants "
            f"{', '.join(i.plants) or '-'}   FAI {'required' if i.fai_required else 'no'}"
        )
        head.append("impact: " + ", ".join(f"{k} {v}" for k, v in i.counts.items()))
    if state.pilot_plant:
        head.append(f"pilot plant {state.pilot_plant}   plan {(state.plan_hash or '')[:12]}")
    if state.plant_progress:
        wave = f"wave {state.wave}: " if state.wave is not None else ""
        head.append(wave + "   ".join(p.label() for p in state.plant_progress))
    if state.alert:
        head.append(f"[bold yellow]alert[/]: {state.alert}")
    if state.hold:
        head.append(f"[bold red]on hold[/]: {state.hold.task_id}: {state.hold.error}")
    if state.outcome:
        head.append(f"outcome: {state.outcome}")
    for deviation in state.deviations:
        head.append(f"[yellow]deviation[/]: {deviation}")
    if state.refused:
        head.append(f"refused input: {len(state.refused)} (latest: {state.refused[-1]})")
    parts: list[Any] = [Panel("\n".join(head))]
    if state.approvals.required:
        table = Table(title="approvals")
        for column in ("role", "plant", "decision", "by", "comment", "signed"):
            table.add_column(column)
        for required in state.approvals.required:
            got = next((d for d in state.approvals.received if d.slot() == required.slot()), None)
            sig = got.signature if got else None
            table.add_row(
                required.label()
                if required.group or required.retrospective
                else required.role.value,
                required.plant or "",
                got.decision.value if got else "[yellow]waiting[/]",
                got.approver if got else "",
                got.comment if got else "",
                _signed(sig),
            )
        parts.append(table)
        waiting = outstanding(state.approvals)
        if waiting and state.stage.value == "awaiting_approval":
            parts.append(f"waiting for: {', '.join(r.label() for r in waiting)}")
    if state.tasks:
        table = Table(title="rollout")
        for column in ("wave", "task", "status", "verified", "detail"):
            table.add_column(column)
        for task in sorted(state.tasks, key=lambda t: t.wave):
            verified = "" if task.verified is None else ("yes" if task.verified else "[red]no[/]")
            detail = task.error or (f"skipped: {task.skip_reason}" if task.skip_reason else "")
            table.add_row(
                str(task.wave),
                task.summary,
                _styled(task.status.value, TASK_STYLE),
                verified,
                detail,
            )
        parts.append(table)
    return Group(*parts)


def impact_markdown(report: dict[str, Any]) -> Markdown:
    lines = [f"# Impact of {report['change_id']}", ""]
    for item in report["items"]:
        lines.append("- " + _item_line(item))
    risk = report["risk"]
    lines += [
        "",
        f"**Risk: {risk['level']}** (score {risk['score']:g})",
        "",
        "| factor | weight | value | contribution | why |",
        "|---|---|---|---|---|",
    ]
    for f in risk["factors"]:
        lines.append(
            f"| {f['name']} | {f['weight']:g} | {f['value']:g} | {f['contribution']:g} "
            f"| {f['explanation']} |"
        )
    if report.get("fai_required"):
        lines += ["", "First-article inspection required: " + "; ".join(report["fai_reasons"])]
    lines += ["", f"Plants: {', '.join(report['plants']) or 'none'}", ""]
    by_scope: dict[str, list[dict[str, Any]]] = {}
    for obj in report["objects"]:
        by_scope.setdefault(obj.get("plant") or "central", []).append(obj)
    for scope, objects in by_scope.items():
        lines += [
            f"## {scope}",
            "",
            "| kind | system | object | disposition | why |",
            "|---|---|---|---|---|",
        ]
        for o in objects:
            lines.append(
                f"| {o['kind']} | {o['system']} | {o['key']}: {o['summary']} | "
                f"{o['disposition']} | {' -> '.join(o['path'])} |"
            )
        lines.append("")
    if report.get("total_objects", 0) > len(report["objects"]):
        lines.append(f"(showing {len(report['objects'])} of {report['total_objects']} objects)")
    return Markdown("\n".join(lines))


def _item_line(item: dict[str, Any]) -> str:
    if "part" in item:
        return f"part **{item['part']}** rev {item['from_revision']} -> {item['to_revision']}" + (
            " (interchangeable)" if item.get("interchangeable") else " (not interchangeable)"
        )
    if "routing" in item:
        return f"operation **{item['routing']} {item['op_no']}** in {item['plant']}"
    if "equipment" in item:
        return f"equipment **{item['equipment']}** in {item['plant']}"
    return f"**{item['system']}** release {item['version']}"


def thread_view(data: dict[str, Any]) -> Group:
    table = Table(title=f"digital thread, version {data['version']}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in data["counts"].items():
        table.add_row(name.removeprefix("thread_"), f"{count:,}")
    runs = Table(title="recent syncs")
    for column in ("sync", "mode", "status", "version", "note"):
        runs.add_column(column)
    for run in data["recent_syncs"]:
        note = run.get("error") or "; ".join(run.get("warnings", [])[:2])
        runs.add_row(
            run["sync_id"],
            run["mode"],
            _styled(run["status"], {"committed": "green", "failed": "red"}),
            str(run.get("version") or ""),
            note[:80],
        )
    return Group(
        table,
        runs,
        f"incremental watermark: {data.get('watermark') or '-'}; last "
        f"full sync: {data.get('full_synced_at') or '-'}",
    )


def audit_table(change_id: str, data: dict[str, Any]) -> Group:
    check = data["verification"]
    verdict = (
        "[green]intact[/]"
        if check["intact"]
        else "[bold red]BROKEN[/]: " + "; ".join(check["problems"])
    )
    table = Table(title=f"audit trail of {change_id}")
    for column in ("#", "at (UTC)", "actor", "action", "detail"):
        table.add_column(column)
    for event in data["events"]:
        detail = ", ".join(f"{k}={v}" for k, v in event["detail"].items() if v not in ("", None))
        table.add_row(
            str(event["seq"]), event["at"][:19], event["actor"], event["action"], detail[:120]
        )
    return Group(table, f"{check['events']} events, hash chain {verdict}")


WAVE_NAMES = {0: "central systems", 1: "pilot plant", 2: "remaining plants"}


def plan_tree(view: dict[str, Any]) -> Tree:
    """A plan as a tree: wave, then plant, then each task with its status."""
    pilot = f", pilot {view['pilot_plant']}" if view.get("pilot_plant") else ""
    root = Tree(
        f"[bold]plan of {view['change_id']}[/] ({view['total_tasks']} tasks{pilot}) "
        f"[dim]hash {view['plan_hash'][:16]}[/]"
    )
    by_wave: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for task in view["tasks"]:
        by_wave.setdefault(task["wave"], {}).setdefault(task["plant"] or "central", []).append(task)
    for wave, plants in sorted(by_wave.items()):
        branch = root.add(f"[bold]wave {wave}[/]: {WAVE_NAMES.get(wave, '')}")
        for plant, tasks in sorted(plants.items()):
            node = branch.add(f"[cyan]{plant}[/]")
            for task in tasks:
                after = (
                    f" [dim](after {', '.join(task['depends_on'])})[/]"
                    if task["depends_on"]
                    else ""
                )
                status = _styled(task["status"], TASK_STYLE)
                node.add(f"{task['id']}  {task['action']} {task['target']}  {status}{after}")
    if view["total_tasks"] > len(view["tasks"]):
        root.add(f"[dim]... {view['total_tasks'] - len(view['tasks'])} more tasks[/]")
    return root


def policy_table(rules: list[dict]) -> Table:
    """`changeflow policy explain`: each rule, whether it applied, and what it asks for."""
    table = Table(title="approval policy")
    for column in ("rule", "when", "approval", "how many", "why", "deadline"):
        table.add_column(column)
    for rule in rules:
        if not rule["applied"]:
            table.add_row(rule["rule"], rule["when"], "[dim]does not apply[/]", "", "", "")
            continue
        for a in rule["approvals"]:
            label = a["role"] + (f" ({a['plant']})" if a.get("plant") else "")
            many = f"{a['need']} of {a['group']}" if a.get("group") else str(a["need"])
            deadline = []
            if a.get("retrospective"):
                deadline.append(f"retrospective, within {a['due_hours']:g} h")
            if a.get("sla_hours"):
                deadline.append(f"SLA {a['sla_hours']:g} h -> {a.get('escalation') or '-'}")
            table.add_row(rule["rule"], rule["when"], label, many, a["reason"], "; ".join(deadline))
    return table


def _signed(sig: Signature | None) -> str:
    if sig is None or not sig.content_hash or sig.signed_at is None:
        return ""
    return f"{sig.printed_name} {sig.signed_at:%Y-%m-%d %H:%M} UTC, hash {sig.content_hash[:12]}"
