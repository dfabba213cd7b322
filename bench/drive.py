"""How the lifecycle benchmark drives its two sides: the part revisions that plan cleanly, a
change submitted and approved the way approvers do (they find it in the awaiting-approval list,
then sign what they saw), and a bare workflow started and approved by one Update."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from temporalio.client import Client

from bench.bare import BareWorkflow, Shape
from domain.change.revisions import next_revision
from tests.support.e2e_stack import APPROVERS, Stack, poll


async def candidates(stack: Stack, count: int) -> list[dict[str, Any]]:
    """Part revisions whose plan is valid now: one change file each."""
    parts = stack.sim.get("/plm/parts", params={"limit": 1000}).json()["items"]
    found = []
    for part in parts:
        if part["kind"] != "component":
            continue
        current = part["current_revision"]
        body = {
            "title": f"bench {part['number']} -> {next_revision(current)}",
            "type": "part_revision",
            "reason": "lifecycle benchmark",
            "requested_by": "maria.engineer",
            "items": [
                {
                    "part": part["number"],
                    "from_revision": current,
                    "to_revision": next_revision(current),
                }
            ],
        }
        preview = await stack.api.post("/api/plan-preview", json=body)
        if preview.status_code == 200 and 3 <= preview.json()["total_tasks"] <= 40:
            waves = [w["tasks"] for w in sorted(preview.json()["waves"], key=lambda w: w["wave"])]
            found.append({"body": body, "waves": waves})
        if len(found) == count:
            break
    return found


class Inbox:
    """How approvers find their work: one look at the changes awaiting approval
    (`GET /api/changes?stage=awaiting_approval`, answered by Temporal's visibility store, not by
    the workers) every 0.2 s for every change of a round, not a poll of each change's state."""

    def __init__(self, stack: Stack | None) -> None:
        self.stack = stack  # None: a subclass looks elsewhere
        self.waiting: dict[str, asyncio.Future] = {}
        self.task: asyncio.Task | None = None

    async def waiting_now(self) -> list[str]:
        assert self.stack is not None
        response = await self.stack.api.get(
            "/api/changes", params={"stage": "awaiting_approval", "limit": 1000}
        )
        return [s["change_id"] for s in response.json()] if response.status_code == 200 else []

    async def arrived(self, change_id: str, timeout: float = 120) -> None:
        future = self.waiting.setdefault(change_id, asyncio.get_running_loop().create_future())
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._watch())
        await asyncio.wait_for(future, timeout)

    async def _watch(self) -> None:
        while any(not f.done() for f in self.waiting.values()):
            for found in await self.waiting_now():
                future = self.waiting.get(found)
                if future is not None and not future.done():
                    future.set_result(None)
            await asyncio.sleep(0.2)


class BareInbox(Inbox):
    """The same look for bare workflows: Temporal's visibility list of those awaiting approval,
    every 0.2 s (the bare workflow shows it waits as a change does)."""

    def __init__(self, client: Client) -> None:
        super().__init__(None)
        self.client = client

    async def waiting_now(self) -> list[str]:
        query = "WorkflowType = 'BareWorkflow' AND ChangeStage = 'awaiting_approval'"
        return [w.id async for w in self.client.list_workflows(query)]


async def approve(stack: Stack, change_id: str, inbox: Inbox, together: bool = True) -> float:
    """Every required approval through the API, each approver on their own (at once, as people
    who each find the change in their inbox; or, not `together`, one after another); returns
    when the last was sent (the decisive one, for approval -> next activity)."""
    await inbox.arrived(change_id)
    state = await poll(stack, change_id, "awaiting_approval", timeout=120)

    async def one(required) -> None:
        response = await stack.api.post(
            f"/api/changes/{change_id}/approvals",
            json={
                "decision": "approve",
                "role": required.role.value,
                "plant": required.plant,
                "revision": state.revision,  # what the approver saw and signs
                "revision_hash": state.revision_hash,
            },
            headers=stack.auth(APPROVERS[(required.role.value, required.plant)]),
        )
        assert response.status_code == 202, response.text

    sent = time.time()
    if together:
        await asyncio.gather(*(one(required) for required in state.approvals.required))
        return sent
    for required in state.approvals.required:
        sent = time.time()
        await one(required)
    return sent


async def one_change(stack: Stack, body: dict[str, Any], inbox: Inbox) -> tuple[str, float]:
    start = time.perf_counter()
    change_id = await stack.submit(body)
    await approve(stack, change_id, inbox)
    await stack.client.get_workflow_handle(change_id).result()
    return change_id, time.perf_counter() - start


async def one_bare(
    client: Client, queue: str, shape: tuple[Shape, int], inbox: BareInbox
) -> tuple[str, float]:
    """A bare workflow, approved (one Update) once it is found waiting, as a change is."""
    start = time.perf_counter()
    wid = f"bare-{uuid.uuid4().hex[:10]}"
    handle = await client.start_workflow(
        BareWorkflow.run, args=list(shape), id=wid, task_queue=queue
    )
    await inbox.arrived(wid)
    await handle.execute_update(BareWorkflow.approve)
    await handle.result()
    return wid, time.perf_counter() - start
