"""The changeflow worker: `python worker.py` (or `changeflow worker`) serves the central queue
(workflows, PLM, ERP, store); `--plant DET` serves only plant DET's systems (MES, QMS) from inside
the plant, as production runs them and as the embedded stack does (one process per plant);
`--all-plants` serves both in one process. The sticky workflow cache and the activity
concurrency come from the settings (docs/operations.md). With CHANGEFLOW_DEPLOYMENT_NAME and
CHANGEFLOW_BUILD_ID set, the central worker is one version of a Worker Deployment
(docs/upgrading.md); without them, versioning is off."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import typer
from temporalio.api.enums.v1 import VersioningBehavior
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.worker import (
    Worker,
    WorkerDeploymentConfig,
    WorkflowInstance,
    WorkflowInstanceDetails,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.deps import ActivityDeps
from activities.registry import central_activities, plant_activities
from infra import signing
from infra.logs import configure_logging, get_logger
from infra.settings import Settings, load_settings
from infra.temporal import connect
from infra.tracing import configure_tracing
from workflows.all import WORKFLOWS
from workflows.queues import plant_queue
from workflows.schedules import ensure_retention, ensure_schedules

DEPLOYMENT_NAME_ENV = "CHANGEFLOW_DEPLOYMENT_NAME"
BUILD_ID_ENV = "CHANGEFLOW_BUILD_ID"


def deployment_config() -> WorkerDeploymentConfig | None:
    """The central worker's Worker Deployment Version, from CHANGEFLOW_DEPLOYMENT_NAME and
    CHANGEFLOW_BUILD_ID (both, or neither: versioning off, as for a plain `changeflow up`).
    Each workflow declares its behaviour on `@workflow.defn`: the change moves to the current
    version (auto-upgrade, patched), the short-lived workflows stay on the version they
    started on (pinned). A new version serves new work once it is made current:
    `temporal worker deployment set-current-version` (docs/upgrading.md)."""
    name = os.environ.get(DEPLOYMENT_NAME_ENV, "").strip()
    build_id = os.environ.get(BUILD_ID_ENV, "").strip()
    if not name and not build_id:
        return None
    if not name or not build_id or "." in name:
        raise ValueError(
            f"set both {DEPLOYMENT_NAME_ENV} (no '.') and {BUILD_ID_ENV}, or neither "
            f"(got {name!r} and {build_id!r})"
        )
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(deployment_name=name, build_id=build_id),
        use_worker_versioning=True,
    )


def workflow_runner(*, versioned: bool = False) -> SandboxedWorkflowRunner:
    """Temporal's sandbox, with changeflow's own packages passed through: they hold no state
    that a workflow could change, so each workflow run need not import them again. That is
    most of the memory a cached change takes and of the CPU a new run costs; the sandbox still
    guards everything else (time, randomness, I/O, other modules). For an unversioned worker
    (`versioned=False`), the versioning behaviour each workflow declares is left out of its
    workflow task completions: the server refuses one from a worker that is not in versioned
    mode (INVALID_ARGUMENT, "versioning behavior cannot be specified without deployment
    options being set with versioned mode", Server 1.32), which would wedge every workflow."""
    return DirectContextRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*OWN_PACKAGES),
        versioned=versioned,
    )


class DirectContextRunner(SandboxedWorkflowRunner):
    """The sandbox, asked for each payload's serialization context directly. The SDK (1.35)
    answers every payload of every activation and completion by compiling and running a
    snippet inside the sandbox that calls the workflow instance's method: a quarter of the
    central worker's CPU under load (py-spy). The same method of the same instance is called
    here without the snippet; the workflow code itself still runs only in the sandbox. An SDK
    whose sandbox is built otherwise gets its own behaviour back. Unversioned, it also leaves
    out each completion's versioning behaviour (see workflow_runner)."""

    def __init__(self, *, versioned: bool = False, **options: Any) -> None:
        super().__init__(**options)
        self._versioned = versioned

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        instance = super().create_instance(det)
        inner = getattr(instance, "globals_and_locals", {}).get("__temporal_in_sandbox")
        if inner is not None and hasattr(inner, "get_external_store_context"):
            instance.get_serialization_context = inner.get_serialization_context  # type: ignore[method-assign]
            instance.get_external_store_context = inner.get_external_store_context  # type: ignore[method-assign]
        if not self._versioned:
            activate = instance.activate

            def unversioned(act: WorkflowActivation) -> WorkflowActivationCompletion:
                completion = activate(act)
                if completion.HasField("successful"):
                    unspecified = VersioningBehavior.VERSIONING_BEHAVIOR_UNSPECIFIED
                    completion.successful.versioning_behavior = unspecified
                return completion

            instance.activate = unversioned  # type: ignore[method-assign]
        return instance


OWN_PACKAGES = ("workflows", "domain", "infra")


def build_workers(
    client: Client,
    settings: Settings,
    *,
    central: bool = True,
    plants: Sequence[str] = (),
    deps: ActivityDeps | None = None,
    deployment: WorkerDeploymentConfig | None = None,
) -> list[Worker]:
    """Workers for the central queue and/or the given plants' queues. With `deployment`, the
    central worker (the one that runs workflows) is that Worker Deployment Version; the plants'
    workers run activities only and stay unversioned."""
    deps = deps or ActivityDeps.from_settings(settings)
    limits = {"max_concurrent_activities": settings.worker_max_concurrent_activities}
    workers = []
    if central:
        workers.append(
            Worker(
                client,
                task_queue=settings.task_queue,
                workflows=WORKFLOWS,
                workflow_runner=workflow_runner(versioned=deployment is not None),
                activities=central_activities(deps),
                max_cached_workflows=settings.worker_max_cached_workflows,
                deployment_config=deployment,
                **limits,
            )
        )
    for plant in plants:
        workers.append(
            Worker(
                client,
                task_queue=plant_queue(settings.task_queue, plant),
                activities=plant_activities(deps),
                **limits,
            )
        )
    return workers


async def run(plant: str | None, all_plants: bool, ready_file: str | None = None) -> None:
    configure_logging()
    configure_tracing("changeflow-worker")
    settings = load_settings()
    signing.require_keyring()  # verifies people's signed input: no key, no worker
    log = get_logger(component="worker")
    client = await connect(settings)
    if plant:
        settings.plant(plant)  # unknown plant: a clear error before anything starts
        workers = build_workers(client, settings, central=False, plants=[plant])
    else:
        deployment = deployment_config()
        workers = build_workers(
            client,
            settings,
            plants=settings.plant_codes() if all_plants else (),
            deployment=deployment,
        )
        if deployment is not None:
            log.info("worker deployment version", version=deployment.version.to_canonical_string())
        created = await ensure_schedules(client, settings.task_queue)  # idempotent
        log.info("schedules in place", created=created)
        if settings.temporal_retention_days:
            changed = await ensure_retention(
                client, settings.temporal_namespace, settings.temporal_retention_days
            )
            log.info("retention", days=settings.temporal_retention_days, changed=changed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker started", queues=[w.task_queue for w in workers])
    async with AsyncExitStack() as running:  # every worker shut down on the way out
        for worker in workers:
            await running.enter_async_context(worker)
        if ready_file:  # the embedded stack waits for this before it goes on
            Path(ready_file).write_text(str(os.getpid()))
        await stop.wait()
    log.info("worker stopped")


app = typer.Typer(add_completion=False)


@app.command()
def serve(
    plant: str | None = typer.Option(None, "--plant", help="serve only this plant's systems"),
    all_plants: bool = typer.Option(
        False, "--all-plants", help="serve the central queue and every configured plant's queue"
    ),
    ready_file: str | None = typer.Option(
        None, "--ready-file", help="written with the pid once the workers poll"
    ),
) -> None:
    """Serve the central queue (workflows, PLM, ERP, store), one plant's (MES, QMS), or both."""
    if plant and all_plants:
        raise typer.BadParameter("give --plant or --all-plants, not both")
    asyncio.run(run(plant, all_plants, ready_file))


def main(args: list[str] | None = None, prog_name: str = "worker.py") -> None:
    """`python worker.py ARGS`; `changeflow worker ARGS` calls it with its own."""
    typer.main.get_command(app)(args=args, prog_name=prog_name)


if __name__ == "__main__":
    main()
