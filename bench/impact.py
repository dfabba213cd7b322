"""Impact benchmark: the thread index against networkx on the same generated factory, same run.

    python -m bench.impact [--parts 300000] [--plants 5] [--leaves 200]

Measures worst-case where-used (the most-used fastener) and median where-used (typical leaves),
each against networkx's breadth-first traversal of the same graph with the results (ancestor and
level) checked equal; a full cross-system assessment of a typical part; index build time and
peak memory against networkx's graph. Targets: worst-case >= 50x faster than networkx and under
20 ms; typical assessment under 100 ms; index memory at most a quarter of networkx's.
The last line is one JSON object for tracking over time.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import networkx as nx
import numpy as np

from connectors.sim.factory_gen import generate_factory
from domain.change.request import ChangeRequest
from domain.change.revisions import next_revision
from domain.impact.engine import assess
from domain.thread.index import BomGraph, ThreadIndex, WhereUsed
from domain.thread.tables import ThreadTables


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time in ms over `repeat` runs, and the last result. The garbage collector
    is collected before and paused during the runs, for both sides alike: its passes over
    networkx's ~900k dicts otherwise land at random inside the timings."""
    times, result = [], None
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            result = fn()
            times.append((time.perf_counter() - start) * 1e3)
    finally:
        gc.enable()
    return statistics.median(times), result


def peak_bytes(fn: Callable[[], Any]) -> tuple[int, Any]:
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    result = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, result


def networkx_graph(tables: ThreadTables) -> nx.DiGraph:
    """The same BOM as networkx: child -> parent edges between the same integer part ids."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(tables.rows("parts")))
    e = tables["ebom"]
    graph.add_edges_from(zip(e["child"].tolist(), e["parent"].tolist(), strict=True))
    return graph


def as_levels(used: WhereUsed) -> dict[int, int]:
    """Our answer in networkx's shape, for the comparison (outside the timed part)."""
    return dict(zip(used.ids.tolist(), used.levels.tolist(), strict=True))


def theirs(graph: nx.DiGraph, part: int) -> dict[int, int]:
    levels = nx.single_source_shortest_path_length(graph, part)
    levels.pop(part)
    return levels


def typical_part(tables: ThreadTables, index: ThreadIndex, rng: np.random.Generator) -> int:
    """A component used in some plant's MBOM and shown in a work instruction."""
    parts = tables["parts"]
    shown = np.unique(tables["wi_parts"]["part"])
    candidates = shown[parts["kind"][shown] == "component"]
    counts = np.array([index.mbom_by_child.rows(int(p)).size for p in candidates[:2000]])
    pool = candidates[:2000][counts == np.median(counts)] if counts.size else candidates
    return int(rng.choice(pool if pool.size else candidates))


def run(parts: int, plants: int, leaves: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    tables = generate_factory(parts=parts, plants=plants, seed=seed)
    generate_s = time.perf_counter() - start
    counts = tables.counts()
    print(
        f"factory: {counts['parts']:,} parts, {counts['ebom']:,} EBOM lines, "
        f"{counts['mbom']:,} MBOM lines over {plants} plants, {counts['wis']:,} work "
        f"instructions, {counts['orders']:,} open orders (generated in {generate_s:.2f} s)"
    )

    start = time.perf_counter()
    index = ThreadIndex(tables)
    index_build_s = time.perf_counter() - start
    e = tables["ebom"]
    bom_peak, _ = peak_bytes(lambda: BomGraph(e["parent"], e["child"], counts["parts"]))
    full_peak, _ = peak_bytes(lambda: ThreadIndex(tables))
    start = time.perf_counter()
    graph = networkx_graph(tables)
    nx_build_s = time.perf_counter() - start
    nx_peak, _ = peak_bytes(lambda: networkx_graph(tables))
    print(
        f"index build {index_build_s:.3f} s (networkx graph {nx_build_s:.2f} s); peak memory: "
        f"where-used index {bom_peak / 1e6:.1f} MB, full thread index {full_peak / 1e6:.1f} MB, "
        f"networkx graph {nx_peak / 1e6:.1f} MB"
    )

    kinds = tables["parts"]["kind"]
    indegree = np.bincount(e["child"], minlength=counts["parts"])
    fasteners = np.flatnonzero(kinds == "fastener")
    worst = int(fasteners[np.argmax(indegree[fasteners])])
    worst_ms, worst_used = timed(lambda: index.ebom.where_used(worst), 50)
    worst_nx_ms, worst_theirs = timed(lambda: theirs(graph, worst), 9)
    worst_ours = as_levels(worst_used)
    equal = worst_ours == worst_theirs
    print(
        f"worst-case where-used ({tables['parts']['number'][worst]}, used directly in "
        f"{indegree[worst]:,} assemblies, {len(worst_ours):,} ancestors): {worst_ms:.2f} ms vs "
        f"networkx {worst_nx_ms:.1f} ms = {worst_nx_ms / worst_ms:.0f}x"
    )

    has_children = np.zeros(counts["parts"], bool)
    has_children[e["parent"]] = True
    leaf_ids = np.flatnonzero(~has_children & (indegree > 0) & (kinds != "fastener"))
    sample = rng.choice(leaf_ids, size=min(leaves, leaf_ids.size), replace=False)
    ours_ms, theirs_ms = [], []
    for leaf in sample.tolist():
        t_ours, a = timed(lambda leaf=leaf: index.ebom.where_used(leaf), 3)
        t_theirs, b = timed(lambda leaf=leaf: theirs(graph, leaf), 3)
        ours_ms.append(t_ours)
        theirs_ms.append(t_theirs)
        equal &= as_levels(a) == b
    median_ms, median_nx_ms = statistics.median(ours_ms), statistics.median(theirs_ms)
    print(
        f"median where-used over {len(sample)} typical leaves: {median_ms:.3f} ms vs networkx "
        f"{median_nx_ms:.3f} ms = {median_nx_ms / median_ms:.1f}x"
    )

    part = typical_part(tables, index, rng)
    number = str(tables["parts"]["number"][part])
    current = str(tables["parts"]["revision"][part])
    request = ChangeRequest(
        title=f"bench {number}",
        type="part_revision",
        requested_by="bench",
        reason="benchmark",
        items=[
            {
                "part": number,
                "from_revision": current,
                "to_revision": next_revision(
                    max(str(tables["parts"]["revisions"][part]).split(","))
                ),
            }
        ],
    )
    assess_ms, report = timed(lambda: assess("BENCH", request, index), 10)
    print(
        f"full assessment of typical part {number}: {assess_ms:.1f} ms, "
        f"{len(report.objects)} objects in {len(report.plants)} plant(s): {report.counts()}"
    )

    result = {
        "parts": counts["parts"],
        "ebom_lines": counts["ebom"],
        "mbom_lines": counts["mbom"],
        "plants": plants,
        "where_used_worst_ms": round(worst_ms, 3),
        "where_used_worst_networkx_ms": round(worst_nx_ms, 3),
        "where_used_worst_speedup_vs_networkx": round(worst_nx_ms / worst_ms, 1),
        "where_used_worst_ancestors": len(worst_ours),
        "where_used_median_ms": round(median_ms, 4),
        "where_used_median_speedup_vs_networkx": round(median_nx_ms / median_ms, 2),
        "assessment_typical_ms": round(assess_ms, 2),
        "assessment_typical_objects": len(report.objects),
        "index_build_s": round(index_build_s, 4),
        "networkx_build_s": round(nx_build_s, 3),
        "index_memory_mb": round(bom_peak / 1e6, 2),
        "full_index_memory_mb": round(full_peak / 1e6, 2),
        "networkx_memory_mb": round(nx_peak / 1e6, 2),
        "index_memory_ratio_vs_networkx": round(bom_peak / nx_peak, 4),
        "results_equal": bool(equal),
    }
    targets = {
        "worst-case where-used >= 50x networkx": result["where_used_worst_speedup_vs_networkx"]
        >= 50,
        "worst-case where-used < 20 ms": worst_ms < 20,
        "typical assessment < 100 ms": assess_ms < 100,
        "index memory <= 1/4 of networkx": result["index_memory_ratio_vs_networkx"] <= 0.25,
        "results equal": equal,
    }
    for name, met in targets.items():
        print(f"  [{'met' if met else 'MISSED'}] {name}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", type=int, default=300_000)
    parser.add_argument("--plants", type=int, default=5)
    parser.add_argument("--leaves", type=int, default=200)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    print(json.dumps(run(args.parts, args.plants, args.leaves, args.seed)))


if __name__ == "__main__":
    main()
