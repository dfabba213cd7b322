"""What bench-lifecycle prints: each measure against bare, then one JSON line."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any


def per_item(counts: Counter, n: int, top: int = 12) -> dict[str, float]:
    """The most frequent operations, per change (or bare workflow)."""
    return {op: round(count / max(n, 1), 1) for op, count in counts.most_common(top)}


def ceiling(r: dict[str, Any], cores: int) -> dict[str, float]:
    """The most the throughput ratio could be if changeflow's orchestration cost exactly what the
    bare workflow's does: on a machine its CPU bounds, throughput goes as 1 / CPU per item, and a
    change also pays for work the bare workflow does not do. Counted here: the simulator serving
    the systems' reads and writes, and the API (signed submission and decisions, net of what the
    bare side's driver costs). Not counted, so the ceiling is generous: the activities' own work
    in the worker (connector calls, audit chain, impact assessment)."""
    ours, bare = r["cpu_s_per_change_by_process"], r["cpu_s_per_bare_by_process"]
    bare_total = r["cpu_s_per_bare"] + r["temporal_server_cpu_s_per_bare"]
    api = max(0.0, ours.get("API and driver", 0.0) - bare.get("driver", 0.0))
    simulator = ours.get("simulator", 0.0)
    busy = (r["cpu_s_per_change"] + r["temporal_server_cpu_s_per_change"]) * r[
        "throughput_changes_per_s"
    ]
    bare_busy = bare_total * r["throughput_bare_per_s"]
    return {  # both near 1: both sides CPU-bound, the model holds
        "cpu_busy_fraction": round(busy / cores, 2),
        "bare_cpu_busy_fraction": round(bare_busy / cores, 2),
        "throughput_ceiling_vs_bare": round(bare_total / (bare_total + simulator + api), 2),
        "throughput_ceiling_vs_bare_systems_elsewhere": round(bare_total / (bare_total + api), 2),
    }


def report(result: dict[str, Any]) -> None:
    r = result
    print(f"changes: {r['n']} in rounds against as many bare workflows (A B A B); K={r['k']}")
    print(
        f"throughput     {r['throughput_changes_per_s']:.2f}/s vs bare "
        f"{r['throughput_bare_per_s']:.2f}/s = {r['throughput_ratio_vs_bare']:.2f}x (target >= 0.8)"
    )
    print(
        f"p50 latency    {r['p50_s']:.2f} s vs bare {r['p50_bare_s']:.2f} s = "
        f"{r['p50_ratio_vs_bare']:.2f}x (target <= 1.25); p95 {r['p95_ratio_vs_bare']:.2f}x"
    )
    print(
        f"per change     {r['activities_per_change']:.0f} activities, "
        f"{r['history_events_per_change']:.0f} events, "
        f"{r['history_bytes_per_change'] / 1024:.0f} KB "
        f"(bare {r['activities_per_bare']:.0f}, {r['history_events_per_bare']:.0f}, "
        f"{r['history_bytes_per_bare'] / 1024:.0f} KB)"
    )
    print(
        f"CPU            {r['cpu_s_per_change']:.3f} s per change vs {r['cpu_s_per_bare']:.3f} "
        "(ours: worker, simulator, API and driver; bare: its worker and the driver)"
    )
    print(
        "CPU per change  "
        + ", ".join(f"{k} {v:.3f} s" for k, v in r["cpu_s_per_change_by_process"].items())
    )
    print(
        f"Temporal server {r['temporal_server_cpu_s_per_change']:.3f} CPU-s per change vs "
        f"{r['temporal_server_cpu_s_per_bare']:.3f} per bare workflow (not in the CPU above); "
        f"load average at the end {r['load_average']}"
    )
    print(
        f"memory waiting {r['memory_per_waiting_bytes'] / 1024:.0f} KB per change vs "
        f"{r['memory_per_waiting_bare_bytes'] / 1024:.0f} KB = "
        + (
            f"{r['memory_per_waiting_ratio_vs_bare']:.2f}x (target <= 1.2)"
            if r["memory_per_waiting_ratio_vs_bare"]
            else "(bare: below the noise; raise --k)"
        )
    )
    print(
        f"approval -> next activity  p50 {r['approval_next_activity_p50_ms']:.0f} ms, "
        f"p99 {r['approval_next_activity_p99_ms']:.0f} ms (target <= 200)"
    )
    ours, bare = r["server_requests_per_change"], r["server_requests_per_bare"]
    print(
        "server requests per change  "
        + ", ".join(f"{op} {v:g} (bare {bare.get(op, 0):g})" for op, v in ours.items())
    )
    print(
        f"ceiling        {r['throughput_ceiling_vs_bare']:.2f}x bare even with orchestration as "
        "cheap as bare's (the simulator's and the API's work alone), "
        f"{r['throughput_ceiling_vs_bare_systems_elsewhere']:.2f}x with the systems on machines "
        f"of their own; the cores were {r['cpu_busy_fraction']:.0%} busy "
        f"({r['bare_cpu_busy_fraction']:.0%} for bare)"
    )
    print("time in stage  " + ", ".join(f"{k} {v:.2f} s" for k, v in r["stage_s_p50"].items()))
    print(json.dumps(result))
