"""What the benchmarks read of the machine's processes (Linux /proc): resident memory, CPU
seconds, load."""

from __future__ import annotations

import os
from pathlib import Path


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
