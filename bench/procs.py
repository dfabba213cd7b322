"""What the benchmarks read of the machine's processes (Linux /proc): resident memory, CPU
seconds, load; and of the Temporal server, the requests it served."""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import httpx


def rss_bytes(pid: int | str = "self") -> int:
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * 4096


def cpu_seconds(pids: list[int | str]) -> float:
    """User + system CPU of these processes so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def temporal_server_pid() -> int | None:
    """The Temporal dev server this process started (`temporal server start-dev`), if any."""
    me = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = stat.read_text().rsplit(")", 1)[1].split()[1]
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if parent == me and b"start-dev" in cmdline:
            return int(stat.parent.name)
    return None


def server_requests(metrics_url: str) -> Counter[str]:
    """The Temporal server's requests so far by operation (its `service_requests` counters)."""
    text = httpx.get(metrics_url, timeout=10).text
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        if line.startswith("service_requests{"):
            found = re.search(r'operation="([^"]+)"', line)
            if found:
                counts[found.group(1)] += int(float(line.rsplit(" ", 1)[1]))
    return counts
