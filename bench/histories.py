"""What the benchmarks read from Temporal's histories: a change's shape (its activities in the
waves it ran them, children as branches), its cost (events, bytes, activities), its child
workflows, and how long each kind of activity ran."""

from __future__ import annotations

import statistics

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.bare import Shape

SCHEDULED = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
CHILD_STARTED = EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
MARKER = EventType.EVENT_TYPE_MARKER_RECORDED
LOCAL_ACTIVITY = "core_local_activity"  # the marker a local activity's result is recorded as


def _step_of(event) -> tuple[int, int, int] | None:
    """(workflow task, activities, local activities) this event adds to, if any."""
    if event.event_type == SCHEDULED:
        attrs = event.activity_task_scheduled_event_attributes
        return attrs.workflow_task_completed_event_id, 1, 0
    if event.event_type == MARKER:
        attrs = event.marker_recorded_event_attributes
        if attrs.marker_name == LOCAL_ACTIVITY:
            return attrs.workflow_task_completed_event_id, 0, 1
    return None


async def shape_of(client: Client, change_id: str) -> tuple[Shape, int]:
    """The change's activities in the waves it ran them: the parent's workflow tasks in order,
    each with its activities, the child workflows it started (their own waves) and its local
    activities; and the step at which it waited for approval."""
    history = await client.get_workflow_handle(change_id).fetch_history()
    steps: dict[int, list] = {}
    approval_step = 0
    for event in history.events:
        if (step := _step_of(event)) is not None:
            task, activities, local = step
            entry = steps.setdefault(task, [0, [], 0])
            entry[0] += activities
            entry[2] += local
        elif event.event_type == CHILD_STARTED:
            attrs = event.start_child_workflow_execution_initiated_event_attributes
            child = await child_waves(client, attrs.workflow_id)
            steps.setdefault(attrs.workflow_task_completed_event_id, [0, [], 0])[1].append(child)
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            approval_step = approval_step or len(steps)
    return [steps[k] for k in sorted(steps)], approval_step


async def child_waves(client: Client, workflow_id: str) -> list[list[int]]:
    """A child workflow's [activities, local activities] per workflow task, in order."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    waves: dict[int, list[int]] = {}
    for event in history.events:
        if (step := _step_of(event)) is not None:
            task, activities, local = step
            wave = waves.setdefault(task, [0, 0])
            wave[0] += activities
            wave[1] += local
    return [waves[k] for k in sorted(waves)]


async def children_of(client: Client, workflow_id: str) -> list[str]:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return [
        e.start_child_workflow_execution_initiated_event_attributes.workflow_id
        for e in history.events
        if e.event_type == CHILD_STARTED
    ]


async def history_cost(client: Client, workflow_ids: list[str]) -> tuple[int, int, int]:
    """Events, JSON bytes and activities (local ones too) of these workflows' histories."""
    events = size = acts = 0
    for wid in workflow_ids:
        history = await client.get_workflow_handle(wid).fetch_history()
        events += len(history.events)
        size += len(history.to_json())
        acts += sum(1 for e in history.events if _step_of(e) is not None)
    return events, size, acts


async def activity_spans(client: Client, workflow_id: str) -> dict[str, float]:
    """Seconds from the first start to the last completion of each activity type."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    names: dict[int, str] = {}
    spans: dict[str, list[float]] = {}
    for event in history.events:
        at = event.event_time.ToMicroseconds() / 1e6
        if event.event_type == SCHEDULED:
            names[event.event_id] = (
                event.activity_task_scheduled_event_attributes.activity_type.name
            )
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            span = spans.setdefault(
                names[event.activity_task_started_event_attributes.scheduled_event_id], [at, at]
            )
            span[0] = min(span[0], at)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            name = names[event.activity_task_completed_event_attributes.scheduled_event_id]
            spans[name][1] = max(spans[name][1], at)
    return {name: end - start for name, (start, end) in spans.items()}


async def stage_times(client: Client, change_ids: list[str]) -> dict[str, float]:
    """Median seconds each change spent in each stage (from its stage history): where a
    change's latency goes."""
    from workflows.change.workflow import ChangeWorkflow

    spent: dict[str, list[float]] = {}
    for change_id in change_ids:
        state = await client.get_workflow_handle(change_id).query(ChangeWorkflow.state)
        for entry, after in zip(state.history, state.history[1:], strict=False):
            spent.setdefault(entry.stage.value, []).append((after.at - entry.at).total_seconds())
    return {stage: round(statistics.median(s), 2) for stage, s in spent.items()}
