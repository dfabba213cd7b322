"""QMS connector for one plant: inspection plans and their characteristics."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from connectors.http import HttpSystem, Page, seg
from domain.thread.objects import InspectionPlan


class QmsConnector(Protocol):
    plant: str

    def kinds(self) -> list[str]: ...
    async def page(
        self,
        kind: str,
        *,
        after: str | None = None,
        since: datetime | None = None,
        limit: int = 2000,
    ) -> Page: ...

    async def list_inspection_plans(self) -> list[InspectionPlan]: ...
    async def get_inspection_plan(self, plan_id: str) -> InspectionPlan: ...
    async def revise_inspection_plan(
        self, plan_id: str, part: str, part_revision: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]: ...
    async def restore_inspection_plan(
        self,
        plan_id: str,
        revision: int,
        part: str,
        part_revision: str,
        *,
        idempotency_key: str,
        change_id: str,
    ) -> dict[str, Any]: ...
    async def aclose(self) -> None: ...


class RestQms(HttpSystem):
    """The reference REST QMS of one plant (the simulator's)."""

    COLLECTIONS: ClassVar[dict[str, tuple[str, type[BaseModel]]]] = {
        "inspection_plan": ("/inspection-plans", InspectionPlan),
    }

    def __init__(self, plant: str, base_url: str, **kwargs: Any) -> None:
        super().__init__(f"QMS {plant}", base_url, **kwargs)
        self.plant = plant

    async def list_inspection_plans(self) -> list[InspectionPlan]:
        return await self.all_of("inspection_plan")

    async def get_inspection_plan(self, plan_id: str) -> InspectionPlan:
        return InspectionPlan.model_validate(await self.get(f"/inspection-plans/{seg(plan_id)}"))

    async def revise_inspection_plan(
        self, plan_id: str, part: str, part_revision: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]:
        """Issue the next revision of the plan, inspecting `part` at `part_revision`."""
        return await self.write(
            f"/inspection-plans/{seg(plan_id)}/revisions",
            {"part": part, "part_revision": part_revision},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )

    async def restore_inspection_plan(
        self,
        plan_id: str,
        revision: int,
        part: str,
        part_revision: str,
        *,
        idempotency_key: str,
        change_id: str,
    ) -> dict[str, Any]:
        return await self.write(
            f"/inspection-plans/{seg(plan_id)}/restore",
            {"revision": revision, "part": part, "part_revision": part_revision},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )
