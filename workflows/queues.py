"""Task queue names: the central queue and each plant's own."""

from __future__ import annotations


def plant_queue(base_queue: str, plant: str) -> str:
    """Plant systems are served by a worker on the plant's own queue."""
    return f"{base_queue}-plant-{plant}"
