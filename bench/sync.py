"""Sync benchmark: the thread sync and cold start on a factory of N parts, against baselines
measured in the same run.

    python -m bench.sync [--parts 300000]

The simulator is seeded with the generated factory (5 plants; `--parts 300000` is the large
factory). Then, on one dev server with the real worker, the simulator and the worker each in a
process of their own as in `changeflow up` (tests/support/e2e_stack.py's stack):
- full sync: ThreadSyncWorkflow(full), wall time, against a bare INSERT of the same rows into
  the same tables of an empty database (one executemany per table: the floor of writing them);
- incremental sync with nothing changed: wall time, and whether the thread's version moved;
- cold start: a new process's first index (IndexCache.current) from the persisted columns,
  against reading the committed thread out of the database into columns (what it did before).
Targets (issue 9): full sync <= 30 s, incremental unchanged <= 1 s, cold start <= 2 s. The last
line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlmodel import Session, SQLModel

from bench.histories import activity_spans
from bench.procs import cpu_seconds, load_average
from connectors.sim.dataset import dataset, tables_rows
from connectors.sim.store import SimStore
from domain.messages import SyncRequest
from store.db import get_engine
from store.thread.index_cache import IndexCache
from store.thread.schema import LIVE_TABLES
from store.thread.store import ThreadStore
from tests.support.e2e_stack import running_stack
from workflows.thread_sync import ThreadSyncWorkflow


async def sync(stack, mode: str) -> tuple[float, Any]:
    start = time.perf_counter()
    workflow_id = f"bench-sync-{uuid.uuid4().hex[:8]}"
    outcome = await stack.client.execute_workflow(
        ThreadSyncWorkflow.run,
        SyncRequest(mode=mode),
        id=workflow_id,
        task_queue=stack.settings.task_queue,
    )
    wall = time.perf_counter() - start
    phases = await activity_spans(stack.client, workflow_id)
    print(
        f"{mode} sync phases: "
        + ", ".join(f"{k.removeprefix('thread_sync_')} {v:.1f} s" for k, v in phases.items())
    )
    return wall, outcome


def bare_insert(source_url: str, tmp: Path) -> tuple[float, int]:
    """The same rows inserted into an empty database's same tables, one executemany each."""
    source = create_engine(source_url)
    rows: dict[Any, list[dict]] = {}
    with Session(source) as session:
        for table in LIVE_TABLES:
            result = session.execute(select(table.__table__))
            rows[table] = [dict(r._mapping) for r in result]
    target = get_engine(f"sqlite:///{tmp / 'bare.db'}")
    SQLModel.metadata.create_all(target)
    start = time.perf_counter()
    with target.begin() as conn:
        for table, table_rows in rows.items():
            if table_rows:
                conn.execute(table.__table__.insert(), table_rows)
    return time.perf_counter() - start, sum(len(r) for r in rows.values())


def cold_start(settings) -> dict[str, float]:
    """First index of a new process: from the persisted columns, and from the database."""
    store = ThreadStore(get_engine(settings.db_url))
    start = time.perf_counter()
    IndexCache(store).current()  # no home: reads the database, as before
    from_db = time.perf_counter() - start
    start = time.perf_counter()
    IndexCache(store, settings.home).current()
    from_cache = time.perf_counter() - start
    return {"cold_load_s": from_cache, "cold_load_from_database_s": from_db}


async def main(parts: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="cf-bench-sync-"))
    start = time.perf_counter()
    SimStore(tmp / "sim.db").load(tables_rows(dataset(str(parts))))
    print(f"simulator seeded with {parts} parts in {time.perf_counter() - start:.0f} s")
    # as `changeflow up` runs them: the simulator and the worker in processes of their own
    async with running_stack(tmp, worker_process="per-plant", sim_process=True) as stack:
        load_before = load_average()
        processes = {
            "central worker": [stack.worker.process.pid],
            "plant workers": [w.process.pid for w in stack.plant_workers],
            "simulator": [stack.sim_pid],
        }
        cpu_before = {name: cpu_seconds(pids) for name, pids in processes.items()}
        full_s, full = await sync(stack, "full")
        full_cpu = {
            name: round(cpu_seconds(pids) - cpu_before[name], 1) for name, pids in processes.items()
        }
        print("full sync CPU-s: " + ", ".join(f"{k} {v}" for k, v in full_cpu.items()))
        assert full.status == "committed", full.error
        rows = sum(full.counts.values())
        print(f"full sync: {rows} rows in {full_s:.1f} s (load {load_before})")
        # the first index of this version, as the first assessment would build (and persist) it
        IndexCache(ThreadStore(get_engine(stack.settings.db_url)), stack.settings.home).current()
        version = ThreadStore(get_engine(stack.settings.db_url)).state().version
        inc_s, inc = await sync(stack, "incremental")
        assert inc.status == "committed", inc.error
        same_version = ThreadStore(get_engine(stack.settings.db_url)).state().version == version
        print(f"incremental sync, nothing changed: {inc_s:.2f} s, version kept: {same_version}")
        cold = await asyncio.to_thread(cold_start, stack.settings)
        bare_s, bare_rows = await asyncio.to_thread(bare_insert, stack.settings.db_url, tmp)
    return {
        "parts": parts,
        "rows": rows,
        "full_sync_s": round(full_s, 2),
        "bare_insert_s": round(bare_s, 2),
        "bare_insert_rows": bare_rows,
        "full_sync_ratio_vs_bare_insert": round(full_s / bare_s, 2),
        "full_sync_cpu_s_by_process": full_cpu,
        "incremental_sync_unchanged_s": round(inc_s, 3),
        "incremental_unchanged_version_kept": same_version,
        "cold_load_s": round(cold["cold_load_s"], 3),
        "cold_load_from_database_s": round(cold["cold_load_from_database_s"], 3),
        "cold_load_ratio_vs_database": round(
            cold["cold_load_s"] / cold["cold_load_from_database_s"], 3
        ),
        "load_average": load_average(),
        "cpus": os.cpu_count(),
    }


def report(r: dict[str, Any]) -> None:
    print(
        f"full sync      {r['full_sync_s']:.1f} s for {r['rows']} rows; bare INSERT of the same "
        f"rows {r['bare_insert_s']:.1f} s = {r['full_sync_ratio_vs_bare_insert']:.1f}x "
        "(target <= 30 s)"
    )
    print(
        f"incremental    {r['incremental_sync_unchanged_s']:.2f} s with nothing changed "
        f"(target <= 1 s); version kept: {r['incremental_unchanged_version_kept']}"
    )
    print(
        f"cold start     {r['cold_load_s']:.2f} s from the persisted columns vs "
        f"{r['cold_load_from_database_s']:.2f} s from the database = "
        f"{r['cold_load_ratio_vs_database']:.2f}x (target <= 2 s)"
    )
    print(f"machine        {r['cpus']} CPUs, load average {r['load_average']}")
    print(json.dumps(r))


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", type=int, default=300_000, help="300000: the large factory")
    args = parser.parse_args()
    report(asyncio.run(main(args.parts)))


if __name__ == "__main__":
    cli()
