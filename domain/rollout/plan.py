"""The rollout plan: the task DAG of a change with its waves and a content hash, validated before
anyone approves it. Pure.

Waves: wave 0 holds the central systems' tasks (PLM); wave 1 the pilot plant's; wave 2 every
other plant's, which start only once the pilot's tasks are done and read back correctly. The pilot
is the change file's `rollout.pilot_plant`, else the affected plant with the smallest share of
the impact (fewest impacted objects; ties by plant code)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel, Field

from domain.change.request import ChangeRequest
from domain.impact.report import ImpactReport
from domain.rollout.builders import plan_rollout
from domain.rollout.tasks import RolloutTask

CENTRAL_WAVE, PILOT_WAVE, REST_WAVE = 0, 1, 2


class Wave(BaseModel):
    wave: int
    plants: list[str]
    tasks: int


class RolloutPlan(BaseModel):
    change_id: str
    revision: int
    pilot_plant: str | None = None
    tasks: list[RolloutTask]
    plan_hash: str = Field(description="SHA-256 of what the plan does (not of task status).")

    def waves(self) -> list[Wave]:
        plants: dict[int, set[str]] = {}
        counts: Counter[int] = Counter()
        for task in self.tasks:
            plants.setdefault(task.wave, set())
            if task.plant:
                plants[task.wave].add(task.plant)
            counts[task.wave] += 1
        return [Wave(wave=w, plants=sorted(plants[w]), tasks=counts[w]) for w in sorted(plants)]


class PlanError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def choose_pilot(request: ChangeRequest, report: ImpactReport) -> str | None:
    """The pilot plant: the one the change file names, else the least affected plant."""
    if not report.plants:
        return None
    named = request.rollout.pilot_plant if request.rollout else None
    if named is not None:
        if named not in report.plants:
            raise PlanError(
                [
                    f"rollout.pilot_plant: the change does not affect plant {named} "
                    f"(it affects {', '.join(report.plants)})"
                ]
            )
        return named
    share = Counter(o.plant for o in report.objects if o.plant in report.plants)
    return min(report.plants, key=lambda plant: (share[plant], plant))


def assign_waves(tasks: list[RolloutTask], pilot: str | None) -> list[RolloutTask]:
    """The same tasks, each with its wave (central 0, pilot 1, every other plant 2)."""
    if pilot is None:
        return [t.model_copy(update={"wave": CENTRAL_WAVE}) for t in tasks]
    return [
        t.model_copy(
            update={
                "wave": CENTRAL_WAVE
                if t.plant is None
                else PILOT_WAVE
                if t.plant == pilot
                else REST_WAVE
            }
        )
        for t in tasks
    ]


def plan_hash(tasks: Iterable[RolloutTask]) -> str:
    """What the plan does, hashed: the same plan always has the same hash."""
    content = [
        {
            "id": t.id,
            "system": t.system.value,
            "plant": t.plant,
            "action": t.action.value,
            "target": t.target,
            "params": t.params,
            "depends_on": sorted(t.depends_on),
            "wave": t.wave,
        }
        for t in sorted(tasks, key=lambda t: t.id)
    ]
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def plan_problems(tasks: list[RolloutTask], known_actions: Iterable[str]) -> list[str]:
    """Every reason the plan cannot run: duplicate ids, missing dependencies, a cycle, an action
    with no handler, a task that depends on a later wave. Empty when it can."""
    problems = []
    known = {str(a) for a in known_actions}
    ids = Counter(t.id for t in tasks)
    problems += [f"task {i} appears {n} times" for i, n in ids.items() if n > 1]
    by_id = {t.id: t for t in tasks}
    for task in tasks:
        if task.action.value not in known:
            problems.append(f"task {task.id}: no handler for action {task.action.value}")
        for dep in task.depends_on:
            if dep not in by_id:
                problems.append(f"task {task.id} depends on {dep}, which is not in the plan")
            elif by_id[dep].wave > task.wave:
                problems.append(
                    f"task {task.id} (wave {task.wave}) depends on {dep} of a later wave"
                )
    cycle = _find_cycle(by_id)
    if cycle:
        problems.append("the plan has a cycle: " + " -> ".join(cycle))
    return problems


def _find_cycle(by_id: dict[str, RolloutTask]) -> list[str]:
    state: dict[str, int] = {}  # 1 visiting, 2 done
    for start in by_id:
        if state.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = []
        while stack:
            node, index = stack.pop()
            if index == 0:
                state[node] = 1
                path.append(node)
            deps = [d for d in by_id[node].depends_on if d in by_id]
            if index < len(deps):
                stack.append((node, index + 1))
                dep = deps[index]
                if state.get(dep) == 1:
                    return [*path[path.index(dep) :], dep]
                if not state.get(dep):
                    stack.append((dep, 0))
            else:
                state[node] = 2
                path.pop()
    return []


def build_plan(
    change_id: str,
    revision: int,
    request: ChangeRequest,
    report: ImpactReport,
    known_actions: Iterable[str],
) -> RolloutPlan:
    """The validated plan of a change; PlanError names every problem."""
    pilot = choose_pilot(request, report)
    tasks = assign_waves(plan_rollout(request, report), pilot)
    problems = plan_problems(tasks, known_actions)
    if problems:
        raise PlanError(problems)
    return RolloutPlan(
        change_id=change_id,
        revision=revision,
        pilot_plant=pilot,
        tasks=tasks,
        plan_hash=plan_hash(tasks),
    )


class PlanTaskView(BaseModel):
    id: str
    system: str
    plant: str | None
    action: str
    target: str
    depends_on: list[str]
    wave: int
    status: str


class PlanView(BaseModel):
    """A plan as people read it (API, CLI): waves, then the tasks, paged."""

    change_id: str
    plan_hash: str
    pilot_plant: str | None
    waves: list[Wave]
    total_tasks: int
    offset: int
    limit: int
    tasks: list[PlanTaskView]


def plan_view(plan: RolloutPlan, offset: int = 0, limit: int = 500) -> PlanView:
    ordered = sorted(plan.tasks, key=lambda t: (t.wave, t.plant or "", t.id))
    return PlanView(
        change_id=plan.change_id,
        plan_hash=plan.plan_hash,
        pilot_plant=plan.pilot_plant,
        waves=plan.waves(),
        total_tasks=len(ordered),
        offset=offset,
        limit=limit,
        tasks=[
            PlanTaskView(
                id=t.id,
                system=t.system.value,
                plant=t.plant,
                action=t.action.value,
                target=t.target,
                depends_on=t.depends_on,
                wave=t.wave,
                status=t.status.value,
            )
            for t in ordered[offset : offset + limit]
        ],
    )


LARGE_PLAN = 200  # more tasks than this: the plan stays in the store and runs in batches
BATCH_SIZE = 100


def wave_order(tasks: list[RolloutTask], wave: int) -> list[RolloutTask]:
    """The wave's tasks in an order where every task comes after the tasks it depends on
    (Kahn's algorithm, ties by id, so every run orders them the same)."""
    mine = {t.id: t for t in tasks if t.wave == wave}
    waiting = {tid: {d for d in t.depends_on if d in mine} for tid, t in mine.items()}
    dependents: dict[str, list[str]] = {tid: [] for tid in mine}
    for tid, deps in waiting.items():
        for dep in deps:
            dependents[dep].append(tid)
    ready = sorted(tid for tid, deps in waiting.items() if not deps)
    order: list[RolloutTask] = []
    while ready:
        tid = ready.pop(0)
        order.append(mine[tid])
        for nxt in sorted(dependents[tid]):
            waiting[nxt].discard(tid)
            if not waiting[nxt]:
                ready.append(nxt)
        ready.sort()
    return order


def wave_sizes(tasks: Iterable[RolloutTask]) -> dict[int, int]:
    return dict(sorted(Counter(t.wave for t in tasks).items()))
