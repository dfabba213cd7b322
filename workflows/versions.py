"""One patch marker for everything a new run does (`workflow.patched` records, per patch id, a
marker and an upsert of the TemporalChangeVersion search attribute: two history events and a
visibility write each, for every run). A run that has the CURRENT marker takes every patch
below it; a run recorded before CURRENT existed is answered patch by patch, as before.

A patch added after CURRENT is not in COVERED: `Versions.patched` asks `workflow.patched` for it
(until a new version marker covers it too). Once a run has the marker, a worker older than this
module cannot continue it: roll workers forward, not back (as with any patch)."""

from __future__ import annotations

from temporalio import workflow

CURRENT = "changeflow-2026-12"
COVERED = frozenset(  # the patches a run with CURRENT has
    {
        "signed-human-input",
        "batched-audit",
        "thread-sync-before-assessment",
        "audit-assessment",
        "revise-after-request-changes",
        "approval-deadlines",
        "pilot-wave-first",
        "plant-child-workflows",
        "batched-read-back",
        "async-plant-progress",
        "coalesced-plant-progress",
        "sync-fetch-by-queue",
        "join-sync-under-way",
    }
)


class Versions:
    """Ask it at the start of the run (in `@workflow.init`, before any handler can run)."""

    def __init__(self) -> None:
        self.current = workflow.patched(CURRENT)

    def patched(self, patch_id: str) -> bool:
        """True for a covered patch of a run with the CURRENT marker; else what
        `workflow.patched` answers."""
        return (self.current and patch_id in COVERED) or workflow.patched(patch_id)
