"""`changeflow up`'s stack as real processes: a worker killed with -9 is restarted and said so,
its in-flight write is retried within the heartbeat timeout (seconds, not the 2-minute
start-to-close) and applied once; the worker created the thread-sync schedules; stop leaves
no process behind (defects 8 and 12)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from pathlib import Path

import httpx
from temporalio.client import Client

from activities.heartbeat import heartbeating
from domain.lifecycle.state import ChangeState
from infra.settings import Settings
from starter.client import ApiClient, ApiError
from starter.devstack.demo import DEMO_USERS, demo_passwords
from starter.devstack.stack import Stack
from store.db import get_engine
from store.users import add_user
from tests.support.e2e_stack import APPROVERS, example_body
from tests.support.helpers import free_port
from workflows.schedules import INCREMENTAL

SLOW_TASK = "DET.ERP.mbom.100-200"


def wait_state(api: ApiClient, change_id: str, until, timeout: float = 60) -> ChangeState:
    deadline = time.monotonic() + timeout
    while True:
        try:
            state = ChangeState.model_validate(api.get(f"/api/changes/{change_id}"))
        except ApiError as exc:  # no worker to answer the query while it restarts
            assert exc.status == 503 and "workers running" in str(exc), exc
            assert time.monotonic() < deadline, str(exc)
            continue
        if until(state):
            return state
        assert time.monotonic() < deadline, f"{change_id} is {state.stage}: {state.outcome}"
        time.sleep(0.2)


def test_a_killed_worker_is_restarted_and_its_task_retried_within_seconds(
    tmp_path: Path,
) -> None:
    settings = Settings(
        home=tmp_path,
        temporal_address=f"127.0.0.1:{free_port()}",
        simulator_url=f"http://127.0.0.1:{free_port()}",
        api_url=f"http://127.0.0.1:{free_port()}",
        ui_url=f"http://127.0.0.1:{free_port()}",
    )
    stack = Stack(settings)
    said: list[str] = []
    stack.start(progress=said.append, timeout=90)
    try:
        engine = get_engine(settings.db_url)
        tokens = {n: add_user(engine, n, r, p, rotate=True) for n, (r, p) in DEMO_USERS.items()}
        passwords = demo_passwords(engine, tmp_path)
        analyst = ApiClient(settings.api_url, tokens["maria.engineer"])
        change_id = analyst.post("/api/changes", example_body())["change_id"]
        state = wait_state(analyst, change_id, lambda s: s.stage.value == "awaiting_approval")
        # DET's ERP answers the MBOM write 6 s late: the worker dies while it waits
        httpx.post(
            f"{settings.simulator_url}/sim/faults",
            json={"path_contains": "/erp/DET/mbom/component-revision", "delay_s": 6},
        )
        for required in state.approvals.required:
            approver = ApiClient(
                settings.api_url, tokens[APPROVERS[(required.role.value, required.plant)]]
            )
            approver.post(
                f"/api/changes/{change_id}/approvals",
                {
                    "decision": "approve",
                    "role": required.role.value,
                    "plant": required.plant,
                    "password": passwords[APPROVERS[(required.role.value, required.plant)]],
                },
            )
        wait_state(
            analyst,
            change_id,
            lambda s: any(t.id == SLOW_TASK and t.status.value == "running" for t in s.tasks),
        )
        time.sleep(1.0)
        worker = next(s for s in stack.services if s.name == "worker")
        old_pid = worker.process.pid
        os.kill(old_pid, signal.SIGKILL)
        killed_at = time.monotonic()
        worker.process.wait(timeout=10)
        stack.supervise(said.append)
        assert worker.process.pid != old_pid and worker.process.poll() is None
        assert any("worker stopped (signal 9); restarting it" in m for m in said), said
        final = wait_state(
            analyst, change_id, lambda s: s.stage.value in ("completed", "rolled_back")
        )
        took = time.monotonic() - killed_at
        assert final.stage.value == "completed", final.outcome
        assert took < 60, f"the lost task waited {took:.0f}s (its start-to-close is 120s)"
        ledger = httpx.get(
            f"{settings.simulator_url}/sim/ledger", params={"change_id": change_id}
        ).json()
        assert max(Counter(e["idempotency_key"] for e in ledger).values()) == 1

        async def schedule_exists() -> bool:
            client = await Client.connect(settings.temporal_address)
            await client.get_schedule_handle(INCREMENTAL).describe()
            return True

        assert asyncio.run(schedule_exists())
    finally:
        stack.stop()
    assert all(s.process is None or s.process.poll() is not None for s in stack.services)


async def test_heartbeating_beats_while_the_activity_waits() -> None:
    from temporalio.testing import ActivityEnvironment

    beats: list[tuple] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(details)

    async def slow() -> str:
        async with heartbeating(interval=0.05):
            await asyncio.sleep(0.3)
        return "done"

    async def quick() -> str:
        async with heartbeating(interval=0.05):
            await asyncio.sleep(0.01)
        return "done"

    assert await env.run(quick) == "done"
    assert beats == []  # answered before the first beat was due: no heartbeat at all
    assert await env.run(slow) == "done"
    assert len(beats) >= 4
    count = len(beats)
    await asyncio.sleep(0.15)
    assert len(beats) == count  # stopped with the block
