"""Each plant's progress through a rollout, from its tasks: what the details, the API and the
CLI show while waves run. Pure."""

from __future__ import annotations

from pydantic import BaseModel

from domain.rollout.plan import PILOT_WAVE
from domain.rollout.tasks import FINISHED, RolloutTask, TaskStatus, open_wave


class PlantProgress(BaseModel):
    plant: str
    wave: int
    pilot: bool
    total: int
    done: int
    failed: int
    skipped: int
    compensated: int
    verified: int

    def label(self) -> str:
        finished = self.done + self.skipped
        text = f"{self.plant}{' (pilot)' if self.pilot else ''}: {finished}/{self.total} done"
        for name in ("failed", "skipped", "compensated"):
            if getattr(self, name):
                text += f", {getattr(self, name)} {name}"
        if self.verified:
            text += f", {self.verified} verified"
        return text


def plant_progress(tasks: list[RolloutTask]) -> list[PlantProgress]:
    """One line per plant with tasks, in wave then plant order."""
    groups: dict[tuple[int, str], list[RolloutTask]] = {}
    for task in tasks:
        if task.plant:
            groups.setdefault((task.wave, task.plant), []).append(task)
    rows = []
    for (wave, plant), group in sorted(groups.items()):

        def count(status: TaskStatus, group: list[RolloutTask] = group) -> int:
            return sum(1 for t in group if t.status == status)

        rows.append(
            PlantProgress(
                plant=plant,
                wave=wave,
                pilot=wave == PILOT_WAVE,
                total=len(group),
                done=count(TaskStatus.done),
                failed=count(TaskStatus.failed),
                skipped=count(TaskStatus.skipped),
                compensated=count(TaskStatus.compensated),
                verified=sum(1 for t in group if t.verified),
            )
        )
    return rows


def current_wave(tasks: list[RolloutTask]) -> int | None:
    """The wave now rolling out (None before the first task and after the last)."""
    if not any(t.status in FINISHED for t in tasks):
        return None
    return open_wave(tasks)


def waves_note(tasks: list[RolloutTask]) -> str:
    """'wave 2 · DET (pilot): 5/5 done, 5 verified · CHI: 2/4 done, 1 failed'."""
    rows = plant_progress(tasks)
    if not rows:
        return ""
    wave = current_wave(tasks)
    head = f"wave {wave}" if wave is not None else "waves"
    return head + " · " + " · ".join(row.label() for row in rows)


LIVE = (TaskStatus.running, TaskStatus.done, TaskStatus.failed)


def with_reported(tasks: list[RolloutTask], reported: list[RolloutTask]) -> list[RolloutTask]:
    """The change's tasks with what plant workflows still running report of theirs (running,
    done or failed so far); the change takes their results as the truth once they end."""
    by_id = {t.id: t for t in reported if t.status in LIVE}
    merged = []
    for task in tasks:
        live = by_id.get(task.id)
        if live is None or task.status not in (TaskStatus.pending, TaskStatus.running):
            merged.append(task)
        else:
            merged.append(
                task.model_copy(
                    update={"status": live.status, "before": live.before, "error": live.error}
                )
            )
    return merged


def progress_note(tasks: list[RolloutTask]) -> str:
    """One plant's tasks in a line or two (a plant workflow's details in the Web UI)."""
    rows = plant_progress(tasks)
    note = " · ".join(row.label() for row in rows) or "no tasks"
    running = [t.summary for t in tasks if t.status == TaskStatus.running]
    if running:
        more = f"; and {len(running) - 3} more" if len(running) > 3 else ""
        note += f"\n\nrunning: {'; '.join(running[:3])}{more}"
    return note
