"""Every workflow a changeflow worker serves on the central queue (one list for the worker and
the tests)."""

from __future__ import annotations

from workflows.audit_anchor import AuditAnchorWorkflow
from workflows.change.workflow import ChangeWorkflow
from workflows.plant_rollout import PlantRolloutWorkflow
from workflows.thread_sync import ThreadSyncWorkflow

WORKFLOWS = [ChangeWorkflow, PlantRolloutWorkflow, ThreadSyncWorkflow, AuditAnchorWorkflow]
