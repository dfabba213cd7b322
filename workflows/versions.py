"""One patch marker for everything a new run does (`workflow.patched` records, per patch id, a
marker and an upsert of the TemporalChangeVersion search attribute: two history events and a
visibility write each, for every run). A new run records the newest version marker and takes
every patch it covers; a run recorded under an earlier marker takes the patches that one covered;
a run recorded before any marker existed is answered patch by patch, as before.

A patch added after the newest marker is not covered: `Versions.patched` asks `workflow.patched`
for it (until a newer marker covers it too). Once a run has a marker, a worker older than that
marker cannot continue it: roll workers forward, not back (as with any patch)."""

from __future__ import annotations

from temporalio import workflow

DECEMBER = frozenset(
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
LATE_DECEMBER = frozenset({"local-audit", "plant-progress-by-query", "sync-looked-up-first"})
MARKERS: tuple[tuple[str, frozenset[str]], ...] = (  # newest first; a run has at most one
    ("changeflow-2026-12b", DECEMBER | LATE_DECEMBER),
    ("changeflow-2026-12", DECEMBER),
)


class Versions:
    """Ask it at the start of the run (in `@workflow.init`, before any handler can run)."""

    def __init__(self) -> None:
        self.marker: str | None = None
        self.covered: frozenset[str] = frozenset()
        for marker, covered in MARKERS:  # a new run: the newest, recorded; a replay: its own
            if workflow.patched(marker):
                self.marker, self.covered = marker, covered
                break

    def patched(self, patch_id: str) -> bool:
        """True for a patch covered by the run's marker; else what `workflow.patched` answers."""
        return patch_id in self.covered or workflow.patched(patch_id)
