"""A whole changeflow stack: dev server, simulator, workers and the HTTP API on free local ports,
the demo's users with tokens, and helpers to drive it over HTTP.

tests/e2e/conftest.py starts one (`stack`) that the end-to-end modules share; a module that
needs other settings starts its own with `running_stack(tmp, ...)`. Tests on the shared stack
leave no fault behind (the conftest clears them) and never assume a part's revision: they ask
`stack.part_change(part)` for a change from the revision PLM holds now."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml
from temporalio.client import Client

from connectors.sim.app import create_app as create_sim
from domain.approvals.decisions import Role
from domain.change.revisions import next_revision, revision_rank
from domain.lifecycle.state import ChangeState
from domain.messages import SyncOutcome, SyncRequest
from infra.settings import Settings
from starter.devstack.demo import DEMO_USERS
from starter.server import create_app as create_api
from store.credentials import authorize_signing, set_password
from store.migrate import upgrade
from store.users import add_user
from tests.conftest import TEST_SIGNING_KEY
from tests.support.data import EXAMPLE
from tests.support.db import migrated_engine
from tests.support.helpers import eventually, free_port, start_dev_server
from tests.support.servers import ServerThread
from worker import build_workers
from workflows.thread_sync import ThreadSyncWorkflow

# the demo's approvers cover every approval the examples need; a second quality approver and
# an auditor for the tests of racing decisions and read-only access
USERS = {**DEMO_USERS, "qa.park": (Role.quality, None), "audit.ray": (Role.auditor, None)}
PASSWORD = "correct horse battery staple"
# who approves each (role, plant) an example change needs
APPROVERS = {
    ("engineering", None): "eng.kim",
    ("quality", None): "qa.lee",
    ("production", "DET"): "det.prod",
    ("production", "MTY"): "mty.prod",
    ("production", "BRN"): "brn.prod",
    ("supply_chain", None): "sc.ortiz",
    ("safety", None): "safety.ng",
    ("it_ot", None): "it.ops",
}
# parts the tests change (`stack.part_change(part)`); each stays consistent in every system: a
# test that leaves a part inconsistent (a skipped task) uses a part of its own
BRACKET = "100-200"  # the example's part, in DET and MTY
SHAFT = "100-210"  # examples/eco-shaft-rev-b.yaml's part, in BRN only


ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    """`python worker.py --all-plants` (or `args`) in its own process, to be killed like a real
    one."""

    def __init__(
        self, settings: Settings, log: Path, args: tuple[str, ...] = ("--all-plants",)
    ) -> None:
        self.env = {
            **os.environ,
            "CHANGEFLOW_HOME": str(settings.home),
            "CHANGEFLOW_DATABASE_URL": settings.db_url,
            "CHANGEFLOW_SIMULATOR_URL": settings.simulator_url,
            "CHANGEFLOW_TASK_QUEUE": settings.task_queue,
            "CHANGEFLOW_LARGE_PLAN": str(settings.large_plan),
            "CHANGEFLOW_SIGNING_KEY": TEST_SIGNING_KEY,
            "TEMPORAL_ADDRESS": settings.temporal_address,
        }
        self.log = log
        self.args = args
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "worker.py"), *self.args],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last heartbeat, activities in flight are simply lost."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


class SimProcess:
    """The simulator as its own process (`python -m connectors.sim`), as `changeflow up` runs
    it; `url`, `start`, `stop` like ServerThread."""

    def __init__(self, db: Path, port: int, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.argv = [sys.executable, "-m", "connectors.sim", "--db", str(db), "--port", str(port)]
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                self.argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        for _ in range(600):
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"the simulator exited; see {self.log}")
            time.sleep(0.1)
        raise RuntimeError("the simulator did not start in 60 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


@dataclass
class Stack:
    api: httpx.AsyncClient  # authenticated as the auditor unless a request says otherwise
    sim: httpx.Client
    tokens: dict[str, str]
    settings: Settings
    client: Client
    worker: WorkerProcess | None = None
    sim_pid: int | str = "self"  # the simulator's process (this one unless sim_process)
    plant_workers: list[WorkerProcess] = field(default_factory=list)

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    async def submit(self, body: dict, user: str = "maria.engineer") -> str:
        response = await self.api.post("/api/changes", json=body, headers=self.auth(user))
        assert response.status_code == 201, response.text
        return response.json()["change_id"]

    async def cancel(self, change_id: str, user: str = "maria.engineer") -> httpx.Response:
        return await self.api.post(
            f"/api/changes/{change_id}/cancel",
            json={"reason": "test over"},
            headers=self.auth(user),
        )

    def ledger(self, change_id: str) -> list[dict]:
        """The simulator's record of every write the change made (each with its idempotency
        key): what proves exactly-once."""
        return self.sim.get("/sim/ledger", params={"change_id": change_id}).json()

    async def audit_events(self, change_id: str) -> list[dict]:
        """The change's audit trail over HTTP, its chain checked intact."""
        response = await self.api.get(f"/api/changes/{change_id}/audit")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["verification"]["intact"], body["verification"]
        return body["events"]

    async def approve_all(
        self,
        change_id: str,
        users: Mapping[tuple[str, str | None], str] | None = None,
        *,
        comment: str = "",
    ) -> ChangeState:
        """Every approval the change waits for, each by its approver (APPROVERS unless `users`
        says otherwise) over HTTP, each answered 202; the state it was awaiting approval in."""
        state = await poll(self, change_id, "awaiting_approval")
        for required in state.approvals.required:
            user = (users or APPROVERS)[(required.role.value, required.plant)]
            response = await self.api.post(
                f"/api/changes/{change_id}/approvals",
                json={
                    "decision": "approve",
                    "role": required.role.value,
                    "plant": required.plant,
                    "comment": comment,
                    "password": PASSWORD,  # every decision through the API is signed with it
                },
                headers=self.auth(user),
            )
            assert response.status_code == 202, response.text
        return state

    def part_change(self, part: str = BRACKET, **overrides: object) -> dict:
        """The example change file with one item: `part` from the revision PLM holds now to the
        next one not taken (earlier tests on a shared stack may have released or withdrawn
        some); for the bracket, the example's own item with those revisions."""
        doc = self.sim.get(f"/plm/parts/{part}").json()
        latest = max((r["revision"] for r in doc["revisions"]), key=revision_rank)
        body = example_body(**overrides)
        if "items" not in overrides:
            item = body["items"][0] if part == BRACKET else {"part": part}
            body["items"] = [
                {
                    **item,
                    "from_revision": doc["current_revision"],
                    "to_revision": next_revision(latest),
                }
            ]
        return body


@asynccontextmanager
async def running_stack(
    tmp: Path,
    *,
    worker_process: bool | str = False,
    sim_process: bool = False,
    metrics_port: int | None = None,
    **overrides: object,
) -> AsyncIterator[Stack]:
    """The stack; with `worker_process`, the worker runs as its own process (Stack.worker), and
    with `worker_process="per-plant"` the central queue and each plant's queue in processes of
    their own (Stack.plant_workers), as `changeflow up` runs them; with `sim_process`, the
    simulator is a process too; with `metrics_port`, the Temporal server's metrics are there."""
    env = await start_dev_server(metrics_port)
    if sim_process:
        sim: ServerThread | SimProcess = SimProcess(tmp / "sim.db", free_port(), tmp / "sim.log")
        await asyncio.to_thread(sim.start)
    else:
        sim = ServerThread(create_sim(tmp / "sim.db"), free_port())
        sim.start()
    settings = Settings(
        home=tmp,
        database_url=f"sqlite:///{tmp / 'changeflow.db'}",
        simulator_url=sim.url,
        temporal_address=env.client.service_client.config.target_host,
        task_queue=f"e2e-{uuid.uuid4().hex[:6]}",
        **overrides,
    )
    upgrade(settings.db_url)  # `changeflow store upgrade`, as `changeflow up` runs it
    engine = migrated_engine(settings.db_url)
    tokens = {name: add_user(engine, name, role, plant) for name, (role, plant) in USERS.items()}
    for name in USERS:  # each signs once with their password: a signing session for the tests
        set_password(engine, name, PASSWORD)
        authorize_signing(engine, name, PASSWORD, session_minutes=120)
    api = ServerThread(create_api(settings), free_port())
    plant_workers: list[WorkerProcess] = []
    if worker_process == "per-plant":
        process: WorkerProcess | None = WorkerProcess(settings, tmp / "worker.log", ())
        plant_workers = [
            WorkerProcess(settings, tmp / f"worker-{code}.log", ("--plant", code))
            for code in settings.plant_codes()
        ]
    else:
        process = WorkerProcess(settings, tmp / "worker.log") if worker_process else None
    workers = [] if process else build_workers(env.client, settings, plants=settings.plant_codes())
    tasks = [asyncio.create_task(w.run()) for w in workers]
    if process:
        process.start()
    for plant_worker in plant_workers:
        plant_worker.start()
    await asyncio.to_thread(api.start)
    headers = {"Authorization": f"Bearer {tokens['audit.ray']}"}
    try:
        async with httpx.AsyncClient(base_url=api.url, timeout=30, headers=headers) as client:
            yield Stack(
                api=client,
                sim=httpx.Client(base_url=sim.url, timeout=30),
                tokens=tokens,
                settings=settings,
                client=env.client,
                worker=process,
                sim_pid=sim.process.pid if isinstance(sim, SimProcess) else "self",
                plant_workers=plant_workers,
            )
    finally:
        for plant_worker in plant_workers:
            plant_worker.stop()
        if process:
            process.stop()
        await asyncio.gather(*(w.shutdown() for w in workers))
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.to_thread(api.stop)
        sim.stop()
        await env.shutdown()


async def run_sync(stack: Stack, mode: str) -> SyncOutcome:
    """A thread sync (`full` or `incremental`), waited for."""
    return await stack.client.execute_workflow(
        ThreadSyncWorkflow.run,
        SyncRequest(mode=mode),
        id=f"sync-{uuid.uuid4().hex[:8]}",
        task_queue=stack.settings.task_queue,
    )


async def poll_state(
    stack: Stack,
    change_id: str,
    until: Callable[[ChangeState], bool],
    *,
    timeout: float = 60,
    waiting_for: str = "the condition",
) -> ChangeState:
    """GET the change until its state satisfies `until` (see helpers.eventually)."""

    def holds(response: httpx.Response) -> bool:
        return response.status_code == 200 and until(ChangeState.model_validate(response.json()))

    response = await eventually(
        lambda: stack.api.get(f"/api/changes/{change_id}"),
        holds,
        timeout=timeout,
        interval=0.2,
        failure=lambda r: f"{change_id} did not reach {waiting_for}: {r.text[:500]}",
    )
    return ChangeState.model_validate(response.json())


async def poll(stack: Stack, change_id: str, *stages: str, timeout: float = 60) -> ChangeState:
    """GET the change until it is at one of `stages`."""
    return await poll_state(
        stack,
        change_id,
        lambda state: state.stage.value in stages,
        timeout=timeout,
        waiting_for=str(stages),
    )


def example_body(**overrides: object) -> dict:
    body = yaml.safe_load(EXAMPLE.read_text())
    body.update(overrides)
    return body
