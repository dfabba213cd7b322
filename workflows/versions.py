"""One patch marker for everything a new run does (`workflow.patched` records, per patch id, a
marker and an upsert of the TemporalChangeVersion search attribute: two history events and a
visibility write each, for every run). A run that has the CURRENT marker takes every patch
below it; a run recorded before CURRENT existed is answered patch by patch, as before.

A patch added after CURRENT is asked with `workflow.patched` itself, until a new marker takes
its place here (a run then has one marker per version, not one per patch)."""

from __future__ import annotations

from temporalio import workflow

CURRENT = "changeflow-2026-12"  # every patch of workflows/ up to join-sync-under-way


class Versions:
    """Ask it at the start of the run (in `@workflow.init`, before any handler can run)."""

    def __init__(self) -> None:
        self.current = workflow.patched(CURRENT)

    def patched(self, patch_id: str) -> bool:
        """True for a run with the CURRENT marker; else what `workflow.patched` answers."""
        return self.current or workflow.patched(patch_id)
