"""Lifecycle benchmark: changes through the whole lifecycle against a bare workflow, same run.

    python -m bench.lifecycle [--n 6] [--rounds 2] [--k 100]

On one dev server, with the real worker, simulator and API (`tests/support/e2e_stack.py`'s
stack; the worker and the simulator in processes of their own, as `changeflow up` runs them):
each round submits N part revisions at once through the API, approves each through the API's own
signed-decision path as soon as it awaits approval, and waits for all to close; then N bare
workflows with the same activities in the same waves, no-ops (each the shape of one of those
changes, read from its history: per workflow task the activities it scheduled, its child
workflows as concurrent branches) and one Update in place of the approvals, sent once it is
found waiting (the same 0.2 s look at Temporal's visibility list). Rounds alternate (A B A B).
Then K changes are left waiting for approval to measure memory per waiting change (the worker
process's RSS against the bare worker's), and approvals sent to some of them measure approval ->
next activity. CPU counts every process of a side (ours: worker, simulator and this one); the
Temporal server's CPU and the requests it served (by operation) are counted per side too, and
each change's median time in each stage says where its latency goes. Everything is printed
against bare (bench/report.py), with the ceiling: the most the throughput ratio could be were
changeflow's orchestration as cheap as bare's, given the CPU the simulator and the API spend per
change on the same cores. The last line is one JSON object. Targets (issue 9): throughput >=
0.8x bare, p50 <= 1.25x, memory per waiting change <= 1.2x, approval -> next activity p99 <= 200
ms."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.bare import BareWorkflow, Shape
from bench.drive import BareInbox, Inbox, approve, candidates, one_bare, one_change
from bench.histories import children_of, history_cost, shape_of, stage_times
from bench.procs import cpu_seconds, load_average, rss_bytes, server_requests, temporal_server_pid
from bench.report import ceiling, per_item, report
from domain.messages import SyncRequest
from tests.support.e2e_stack import Stack, running_stack
from tests.support.helpers import free_port
from workflows.thread_sync import ThreadSyncWorkflow

SETTLE_S = 2.0
METRICS_PORT = free_port()
METRICS_URL = f"http://127.0.0.1:{METRICS_PORT}/metrics"


@dataclass
class Side:
    latencies: list[float] = field(default_factory=list)
    walls: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    cpu_by_process: dict[str, float] = field(default_factory=dict)  # CPU-s, summed over rounds
    events: list[int] = field(default_factory=list)
    bytes: list[int] = field(default_factory=list)
    activities: list[int] = field(default_factory=list)
    server_cpu: float = 0.0  # the Temporal dev server's CPU-s, summed over rounds
    requests: Counter = field(default_factory=Counter)  # the server's, by operation
    n: int = 0

    def throughput(self) -> float:
        return self.n / sum(self.walls)

    def p(self, q: float) -> float:
        values = sorted(self.latencies)
        return values[min(len(values) - 1, int(q * len(values)))]


async def round_of(
    side: Side, runs: list, client: Client, children: bool, pids: dict[str, list[int | str]]
) -> list[str]:
    every = [pid for group in pids.values() for pid in group]
    before = {name: cpu_seconds(group) for name, group in pids.items()}
    server = temporal_server_pid()
    server0 = cpu_seconds([server]) if server else 0.0
    requests0 = server_requests(METRICS_URL)
    cpu0, wall0 = cpu_seconds(every), time.perf_counter()
    results = await asyncio.gather(*runs)
    side.server_cpu += (cpu_seconds([server]) - server0) if server else 0.0
    side.requests += server_requests(METRICS_URL) - requests0
    side.walls.append(time.perf_counter() - wall0)
    side.cpu.append((cpu_seconds(every) - cpu0) / len(results))
    for name, group in pids.items():
        side.cpu_by_process[name] = side.cpu_by_process.get(name, 0.0) + (
            cpu_seconds(group) - before[name]
        )
    side.n += len(results)
    for wid, latency in results:
        side.latencies.append(latency)
        ids = [wid, *(await children_of(client, wid) if children else [])]
        events, size, acts = await history_cost(client, ids)
        side.events.append(events)
        side.bytes.append(size)
        side.activities.append(acts)
    return [wid for wid, _latency in results]


async def waiting_memory(
    stack: Stack, queue: str, k: int, body: dict[str, Any], shape, bare_pid: int
):
    """RSS per waiting change (the central worker's process) and per waiting bare workflow (the
    bare worker's process); the changes are returned."""
    worker = stack.worker.process.pid
    await asyncio.sleep(SETTLE_S)  # the rounds' last work done: a quiet baseline
    base = rss_bytes(worker)
    ids = [await stack.submit(body) for _ in range(k)]
    inbox = Inbox(stack)
    await asyncio.gather(*(inbox.arrived(change_id) for change_id in ids))
    await asyncio.sleep(SETTLE_S)  # their audit writes done too
    ours = (rss_bytes(worker) - base) / k
    base = rss_bytes(bare_pid)
    bare = []
    for _ in range(k):
        wid = f"bare-wait-{uuid.uuid4().hex[:10]}"
        bare.append(
            await stack.client.start_workflow(
                BareWorkflow.run, args=list(shape), id=wid, task_queue=queue
            )
        )
    await asyncio.sleep(SETTLE_S)
    theirs = (rss_bytes(bare_pid) - base) / k  # may be lost in the noise for a small K
    for handle in bare:
        await handle.terminate("benchmark over")
    return ids, ours, theirs


async def approval_latency(stack: Stack, ids: list[str], samples: int) -> list[float]:
    """ms from sending the last approval to the first activity started after it, per change
    (the approval's own round trip through the API and the Update included)."""
    result = []
    inbox = Inbox(stack)
    for change_id in ids[:samples]:
        approved_at = await approve(stack, change_id, inbox, together=False)
        handle = stack.client.get_workflow_handle(change_id)
        for _ in range(200):
            history = await handle.fetch_history()
            later = [
                e.event_time.ToMicroseconds() / 1e6
                for e in history.events
                if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
                and e.event_time.ToMicroseconds() / 1e6 >= approved_at
            ]
            if later:
                result.append(max(0.0, (min(later) - approved_at) * 1e3))
                break
            await asyncio.sleep(0.05)
    for change_id in ids:
        await stack.api.post(
            f"/api/changes/{change_id}/cancel",
            json={"reason": "benchmark over"},
            headers=stack.auth("maria.engineer"),
        )
    return result


async def main(n: int, rounds: int, k: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="cf-bench-"))
    # as `changeflow up` runs them: the simulator and the worker in processes of their own
    async with running_stack(
        tmp, worker_process="per-plant", sim_process=True, metrics_port=METRICS_PORT
    ) as stack:
        queue = f"bench-bare-{uuid.uuid4().hex[:6]}"
        settings = stack.settings
        bare_worker = subprocess.Popen(  # its own process: its memory and CPU are its own
            [
                sys.executable,
                "-m",
                "bench.bare",
                settings.temporal_address,
                settings.temporal_namespace,
                queue,
            ],
            cwd=Path(__file__).resolve().parent.parent,
        )
        try:
            await stack.client.execute_workflow(
                ThreadSyncWorkflow.run,
                SyncRequest(mode="full"),
                id=f"bench-sync-{uuid.uuid4().hex[:6]}",
                task_queue=stack.settings.task_queue,
            )
            pool = await candidates(stack, n * rounds + 1)
            if len(pool) < 2:
                raise SystemExit("no part revision of the demo factory plans cleanly")
            if len(pool) < n * rounds + 1:
                n = max(1, (len(pool) - 1) // rounds)
                print(f"only {len(pool)} part revisions plan cleanly: {n} changes per round")
            ours, bare = Side(), Side()
            shapes: list[tuple[Shape, int]] = []
            changes: list[str] = []
            for r in range(rounds):
                batch = pool[r * n : (r + 1) * n]
                inbox = Inbox(stack)
                ids = await round_of(
                    ours,
                    [one_change(stack, c["body"], inbox) for c in batch],
                    stack.client,
                    True,
                    {
                        "central worker": [stack.worker.process.pid],
                        "plant workers": [w.process.pid for w in stack.plant_workers],
                        "simulator": [stack.sim_pid],
                        "API and driver": ["self"],
                    },
                )
                changes += ids
                shapes = [await shape_of(stack.client, change_id) for change_id in ids]
                bare_inbox = BareInbox(stack.client)
                await round_of(
                    bare,
                    [one_bare(stack.client, queue, shape, bare_inbox) for shape in shapes],
                    stack.client,
                    False,
                    {"bare worker": [bare_worker.pid], "driver": ["self"]},
                )
            waiting, mem_ours, mem_bare = await waiting_memory(
                stack, queue, k, pool[-1]["body"], shapes[0], bare_worker.pid
            )
            latencies = await approval_latency(stack, waiting, min(k, 20))
            stages = await stage_times(stack.client, changes)
        finally:
            bare_worker.kill()
            bare_worker.wait()
    p99 = sorted(latencies)[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    result = {
        "n": ours.n,
        "k": k,
        "throughput_changes_per_s": round(ours.throughput(), 3),
        "throughput_bare_per_s": round(bare.throughput(), 3),
        "throughput_ratio_vs_bare": round(ours.throughput() / bare.throughput(), 3),
        "p50_s": round(ours.p(0.5), 3),
        "p50_bare_s": round(bare.p(0.5), 3),
        "p50_ratio_vs_bare": round(ours.p(0.5) / bare.p(0.5), 3),
        "p95_ratio_vs_bare": round(ours.p(0.95) / bare.p(0.95), 3),
        "activities_per_change": statistics.mean(ours.activities),
        "activities_per_bare": statistics.mean(bare.activities),
        "history_events_per_change": statistics.mean(ours.events),
        "history_events_per_bare": statistics.mean(bare.events),
        "history_bytes_per_change": statistics.mean(ours.bytes),
        "history_bytes_per_bare": statistics.mean(bare.bytes),
        "cpu_s_per_change": round(statistics.mean(ours.cpu), 3),
        "cpu_s_per_bare": round(statistics.mean(bare.cpu), 3),
        "cpu_s_per_change_by_process": {
            name: round(total / ours.n, 3) for name, total in ours.cpu_by_process.items()
        },
        "cpu_s_per_bare_by_process": {
            name: round(total / bare.n, 3) for name, total in bare.cpu_by_process.items()
        },
        "temporal_server_cpu_s_per_change": round(ours.server_cpu / ours.n, 3),
        "temporal_server_cpu_s_per_bare": round(bare.server_cpu / bare.n, 3),
        "load_average": load_average(),
        "memory_per_waiting_bytes": int(mem_ours),
        "memory_per_waiting_bare_bytes": int(mem_bare),
        "memory_per_waiting_ratio_vs_bare": round(mem_ours / mem_bare, 2) if mem_bare > 0 else None,
        "approval_next_activity_p50_ms": round(statistics.median(latencies), 1),
        "approval_next_activity_p99_ms": round(p99, 1),
        "stage_s_p50": stages,
        "server_requests_per_change": per_item(ours.requests, ours.n),
        "server_requests_per_bare": per_item(bare.requests, bare.n),
    }
    result.update(ceiling(result, os.cpu_count() or 1))
    return result


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=6, help="changes at once per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--k", type=int, default=100, help="changes left waiting for approval")
    args = parser.parse_args()
    report(asyncio.run(main(args.n, args.rounds, args.k)))


if __name__ == "__main__":
    cli()
