"""What the Temporal Web UI shows of a change (its current details) and the stage notes. Pure."""

from __future__ import annotations

from domain.approvals.decisions import outstanding
from domain.change.stages import ChangeStage
from domain.lifecycle.state import ChangeState
from domain.rollout.progress import waves_note
from domain.rollout.tasks import TaskStatus


def items_label(state: ChangeState) -> str:
    labels = []
    for item in state.request.items:
        if hasattr(item, "from_revision"):
            labels.append(f"{item.part} {item.from_revision}->{item.to_revision}")
        else:
            labels.append(item.__class__.__name__)
    return ", ".join(labels)


def approvals_note(state: ChangeState) -> str:
    waiting = outstanding(state.approvals)
    if not waiting:
        return "all approvals received"
    return "waiting for: " + ", ".join(r.label() for r in waiting)


def tasks_note(state: ChangeState) -> str:
    if state.task_counts:  # a large plan: its tasks are in the store
        total = sum(state.wave_sizes.values())
        finished = state.task_counts.get("done", 0) + state.task_counts.get("skipped", 0)
        return f"tasks: {finished}/{total} done (in batches)"
    done = sum(1 for t in state.tasks if t.status in (TaskStatus.done, TaskStatus.skipped))
    skipped = sum(1 for t in state.tasks if t.status == TaskStatus.skipped)
    note = f"tasks: {done}/{len(state.tasks)} done"
    return note + (f" ({skipped} skipped)" if skipped else "")


def schedule_note(state: ChangeState) -> str:
    eff = state.request.effectivity
    return f"effectivity {eff.type.value}" + (f" {eff.date.isoformat()}" if eff.date else "")


def details_markdown(state: ChangeState) -> str:
    """The markdown the Web UI shows as the workflow's current details."""
    s = state
    lines = [f"**{s.change_id}** {s.title}", f"Stage: **{s.stage.value}**"]
    if s.submitted_by != s.requested_by:
        lines.append(f"Requested by {s.requested_by}; {s.submission}")
    if s.alert:
        lines.append(f"⚠ {s.alert}")
    if s.impact:
        lines.append(
            f"Risk: {s.impact.risk_level.value} ({s.impact.risk_score:g}); "
            f"plants: {', '.join(s.plants) or '-'}"
        )
    if s.stage == ChangeStage.awaiting_approval:
        lines.append(approvals_note(s))
    if s.tasks:
        lines.append(tasks_note(s))
        if any(t.plant for t in s.tasks):
            lines.append(waves_note(s.tasks))
    if s.hold:
        lines.append(f"On hold: {s.hold.task_id}: {s.hold.error}")
    if s.outcome:
        lines.append(f"Outcome: {s.outcome}")
    if s.deviations:
        lines.append("Deviations:\n" + "\n".join(f"- {d}" for d in s.deviations))
    if s.refused:
        lines.append(f"Refused input: {len(s.refused)} (latest: {s.refused[-1]})")
    return "\n\n".join(lines)
