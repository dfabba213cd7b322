"""The Temporal Schedules changeflow keeps: incremental thread sync every 15 minutes, a full
sync every night (a full sync also catches objects deleted in a system of record), and the daily
checkpoint of the audit trail."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
)

from domain.messages import SyncRequest
from workflows.audit_anchor import AuditAnchorWorkflow
from workflows.thread_sync import ThreadSyncWorkflow

INCREMENTAL = "thread-sync-incremental"
NIGHTLY = "thread-sync-full-nightly"
AUDIT_ANCHOR = "audit-anchor-daily"  # signs every audit chain's head, verifies the store


async def ensure_schedules(client: Client, task_queue: str) -> list[str]:
    """Create the schedules that do not exist yet; returns the ids created."""
    wanted = {
        INCREMENTAL: (
            ThreadSyncWorkflow.run,
            [SyncRequest(mode="incremental")],
            ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(minutes=15))]),
        ),
        NIGHTLY: (
            ThreadSyncWorkflow.run,
            [SyncRequest(mode="full")],
            ScheduleSpec(
                calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(2)], minute=[ScheduleRange(0)])]
            ),
        ),
        AUDIT_ANCHOR: (
            AuditAnchorWorkflow.run,
            [],
            ScheduleSpec(
                calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(3)], minute=[ScheduleRange(0)])]
            ),
        ),
    }
    created = []
    for schedule_id, (run, args, spec) in wanted.items():
        try:
            await client.create_schedule(
                schedule_id,
                Schedule(
                    action=ScheduleActionStartWorkflow(
                        run,
                        args=args,
                        id=f"{schedule_id}-run",
                        task_queue=task_queue,
                    ),
                    spec=spec,
                    policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
                ),
            )
            created.append(schedule_id)
        except ScheduleAlreadyRunningError:
            pass
    return created


async def ensure_retention(client: Client, namespace: str, days: int) -> bool:
    """Keep closed workflows `days` days in the namespace (audit records are in the store and
    never expire). True if the retention was changed."""
    from google.protobuf.duration_pb2 import Duration
    from temporalio.api.namespace.v1 import NamespaceConfig
    from temporalio.api.workflowservice.v1 import (
        DescribeNamespaceRequest,
        UpdateNamespaceRequest,
    )

    wanted = Duration(seconds=days * 86400)
    described = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=namespace)
    )
    if described.config.workflow_execution_retention_ttl.seconds == wanted.seconds:
        return False
    await client.workflow_service.update_namespace(
        UpdateNamespaceRequest(
            namespace=namespace,
            config=NamespaceConfig(workflow_execution_retention_ttl=wanted),
        )
    )
    return True
