"""Task queue names: the central queue and each plant's own, and which systems use the latter."""

from __future__ import annotations

PLANT_QUEUE_SYSTEMS = frozenset({"MES", "QMS", "LMS"})


def plant_queue(base_queue: str, plant: str) -> str:
    """Plant systems are served by a worker on the plant's own queue."""
    return f"{base_queue}-plant-{plant}"


def queue_for(base_queue: str, system: str, plant: str | None) -> str:
    """A plant's MES, QMS and LMS are reached from its own queue; the rest centrally."""
    if plant and system in PLANT_QUEUE_SYSTEMS:
        return plant_queue(base_queue, plant)
    return base_queue
