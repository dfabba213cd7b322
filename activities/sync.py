"""Thread sync activities: begin a run, fetch one collection page by page into staging
(heartbeating its cursor, resuming from it on retry), commit or fail the run."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.deps import ActivityDeps
from activities.failures import connector_failure
from connectors.errors import ConnectorError
from connectors.http import HttpSystem
from domain.messages import SyncFetch, SyncFetched, SyncOutcome, SyncPlan, SyncRequest, SyncSource
from domain.thread import (
    BomLine,
    Equipment,
    InspectionPlan,
    InventoryRecord,
    MbomLine,
    NcProgram,
    Part,
    ProductionOrder,
    PurchaseOrder,
    Qualification,
    Routing,
    WorkInstruction,
)
from infra.logs import get_logger
from store.thread_store import CyclicBomError, ThreadStore

CYCLIC_BOM = "CyclicBom"
# kind -> (system, collection path under the system's base URL, model the documents must fit)
COLLECTIONS: dict[str, tuple[str, str, type[BaseModel]]] = {
    "part": ("PLM", "/parts", Part),
    "ebom_line": ("PLM", "/ebom", BomLine),
    "mbom_line": ("ERP", "/mbom", MbomLine),
    "production_order": ("ERP", "/production-orders", ProductionOrder),
    "inventory": ("ERP", "/inventory", InventoryRecord),
    "purchase_order": ("ERP", "/purchase-orders", PurchaseOrder),
    "routing": ("MES", "/routings", Routing),
    "work_instruction": ("MES", "/work-instructions", WorkInstruction),
    "qualification": ("MES", "/qualifications", Qualification),
    "equipment": ("MES", "/equipment", Equipment),
    "nc_program": ("MES", "/nc-programs", NcProgram),
    "inspection_plan": ("QMS", "/inspection-plans", InspectionPlan),
}
PAGE_SIZE = 2000


def plan_sources(plants: list[str]) -> list[SyncSource]:
    central = [SyncSource(kind=k, system=s) for k, (s, _, _) in COLLECTIONS.items() if s == "PLM"]
    return central + [
        SyncSource(kind=k, system=s, plant=p)
        for p in plants
        for k, (s, _, _) in COLLECTIONS.items()
        if s != "PLM"
    ]


class SyncActivities:
    def __init__(self, deps: ActivityDeps) -> None:
        self.deps = deps
        self.store = ThreadStore(deps.engine)

    @activity.defn(name="thread_sync_begin")
    async def begin(self, request: SyncRequest) -> SyncPlan:
        sync_id, since = await asyncio.to_thread(self.store.begin, request.mode)
        plants = self.deps.settings.plants
        await asyncio.to_thread(
            self.store.stage,
            sync_id,
            "plant",
            "",
            [{"code": p.code, "name": p.name} for p in plants],
        )
        get_logger(sync_id=sync_id).info("thread sync started", mode=request.mode, since=since)
        return SyncPlan(
            sync_id=sync_id, since=since, sources=plan_sources([p.code for p in plants])
        )

    @activity.defn(name="thread_sync_fetch")
    async def fetch(self, inp: SyncFetch) -> SyncFetched:
        """Every page of one collection into staging; a retry resumes after the last page."""
        source = inp.source
        system, path, model = COLLECTIONS[source.kind]
        base = (
            self.deps.settings.plm_endpoint()
            if source.plant is None
            else self.deps.settings.plant_endpoint(source.plant, system.lower())
        )
        client = HttpSystem(f"{system} {source.plant or ''}".strip(), base.url)
        details = activity.info().heartbeat_details
        cursor: str | None = details[0] if details else None
        count = int(details[1]) if details else 0
        try:
            while True:
                params: dict[str, Any] = {"limit": PAGE_SIZE}
                if cursor:
                    params["after"] = cursor
                if inp.since:
                    params["updated_since"] = _iso(inp.since)
                page = await client.get(path, params)
                docs = [model.model_validate(d).model_dump(mode="json") for d in page["items"]]
                await asyncio.to_thread(
                    self.store.stage, inp.sync_id, source.kind, source.plant or "", docs
                )
                count += len(docs)
                cursor = page.get("next_cursor")
                activity.heartbeat(cursor, count)
                if not cursor:
                    break
        except ConnectorError as exc:
            raise connector_failure(exc) from exc
        finally:
            await client.aclose()
        return SyncFetched(kind=source.kind, plant=source.plant, count=count)

    @activity.defn(name="thread_sync_commit")
    async def commit(self, sync_id: str) -> SyncOutcome:
        try:
            report = await asyncio.to_thread(self.store.commit, sync_id)
        except CyclicBomError as exc:
            get_logger(sync_id=sync_id).error("thread sync refused", error=str(exc))
            raise ApplicationError(
                str(exc), exc.cycle, type=CYCLIC_BOM, non_retryable=True
            ) from exc
        get_logger(sync_id=sync_id).info(
            "thread sync committed", version=report.version, warnings=len(report.warnings)
        )
        return SyncOutcome(**report.model_dump())

    @activity.defn(name="thread_sync_fail")
    async def fail(self, inp: SyncOutcome) -> SyncOutcome:
        run = await asyncio.to_thread(self.store.run, inp.sync_id)
        if run.status == "running":
            await asyncio.to_thread(self.store.fail, inp.sync_id, inp.error or "failed")
        report = await asyncio.to_thread(self.store.report, inp.sync_id)
        return SyncOutcome(**report.model_dump())


def _iso(value: datetime) -> str:
    return value.isoformat()
