"""MES connector for one plant: routings, work instructions, operator qualifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from connectors.errors import NotFoundError
from connectors.http import HttpSystem, Page, seg
from domain.change.trace import BuiltUnit
from domain.thread.objects import Equipment, NcProgram, Qualification, Routing, WorkInstruction


class MesConnector(Protocol):
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

    async def list_routings(self) -> list[Routing]: ...
    async def list_work_instructions(self) -> list[WorkInstruction]: ...
    async def list_qualifications(self) -> list[Qualification]: ...
    async def list_equipment(self) -> list[Equipment]: ...
    async def list_nc_programs(self) -> list[NcProgram]: ...
    async def list_units(self) -> list[BuiltUnit]: ...
    async def get_work_instruction(self, wi_id: str) -> WorkInstruction: ...
    async def publish_work_instruction(
        self, wi_id: str, part: str, part_revision: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]: ...
    async def restore_work_instruction(
        self,
        wi_id: str,
        revision: int,
        part: str | None,
        part_revision: str | None,
        *,
        idempotency_key: str,
        change_id: str,
    ) -> dict[str, Any]: ...
    async def reissue_work_instruction(
        self, wi_id: str, reason: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]: ...
    async def get_routing(self, routing_id: str) -> Routing: ...
    async def update_operation(
        self,
        routing_id: str,
        op_no: int,
        *,
        std_time_min: float | None,
        work_center: str | None,
        idempotency_key: str,
        change_id: str,
    ) -> dict[str, Any]: ...
    async def restore_operation(
        self,
        routing_id: str,
        op_no: int,
        *,
        revision: int,
        std_time_min: float,
        work_center: str,
        idempotency_key: str,
        change_id: str,
    ) -> dict[str, Any]: ...
    async def add_equipment_record(
        self, equipment: str, kind: str, protocol: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]: ...
    async def equipment_record_exists(self, record_id: str) -> bool: ...
    async def withdraw_equipment_record(
        self, record_id: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]: ...
    async def get_nc_program(self, program: str) -> NcProgram: ...
    async def release_nc_program(
        self, program: str, equipment: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]: ...
    async def restore_nc_program(
        self, program: str, revision: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]: ...
    async def get_equipment(self, equipment: str) -> dict[str, Any] | None: ...
    async def update_equipment_master(
        self, equipment: str, status: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]: ...
    async def restore_equipment_master(
        self,
        equipment: str,
        previous: dict[str, Any] | None,
        *,
        idempotency_key: str,
        change_id: str,
    ) -> dict[str, Any]: ...
    async def aclose(self) -> None: ...


class RestMes(HttpSystem):
    """The reference REST MES of one plant (the simulator's)."""

    COLLECTIONS: ClassVar[dict[str, tuple[str, type[BaseModel]]]] = {
        "routing": ("/routings", Routing),
        "work_instruction": ("/work-instructions", WorkInstruction),
        "qualification": ("/qualifications", Qualification),
        "equipment": ("/equipment", Equipment),
        "nc_program": ("/nc-programs", NcProgram),
    }

    def __init__(self, plant: str, base_url: str, **kwargs: Any) -> None:
        super().__init__(f"MES {plant}", base_url, **kwargs)
        self.plant = plant

    async def list_routings(self) -> list[Routing]:
        return await self.all_of("routing")

    async def list_work_instructions(self) -> list[WorkInstruction]:
        return await self.all_of("work_instruction")

    async def list_qualifications(self) -> list[Qualification]:
        return await self.all_of("qualification")

    async def list_equipment(self) -> list[Equipment]:
        return await self.all_of("equipment")

    async def list_nc_programs(self) -> list[NcProgram]:
        return await self.all_of("nc_program")

    async def list_units(self) -> list[BuiltUnit]:
        """Completed units, as the MES records them (not part of the thread: read on demand)."""
        units: list[BuiltUnit] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 2000, **({"after": cursor} if cursor else {})}
            body = await self.get("/units", params)
            units += [BuiltUnit.model_validate(x) for x in body["items"]]
            cursor = body.get("next_cursor")
            if not cursor:
                return units

    async def get_work_instruction(self, wi_id: str) -> WorkInstruction:
        return WorkInstruction.model_validate(await self.get(f"/work-instructions/{seg(wi_id)}"))

    async def publish_work_instruction(
        self, wi_id: str, part: str, part_revision: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]:
        """Publish the next revision of work instruction `wi_id`, showing `part` at
        `part_revision`."""
        return await self.write(
            f"/work-instructions/{seg(wi_id)}/revisions",
            {"part": part, "part_revision": part_revision},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )

    async def restore_work_instruction(
        self,
        wi_id: str,
        revision: int,
        part: str | None,
        part_revision: str | None,
        *,
        idempotency_key: str,
        change_id: str,
    ) -> dict[str, Any]:
        """Put the work instruction back at `revision` (and `part` at `part_revision`)."""
        return await self.write(
            f"/work-instructions/{seg(wi_id)}/restore",
            {"revision": revision, "part": part, "part_revision": part_revision},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )

    async def reissue_work_instruction(
        self, wi_id: str, reason: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]:
        """Release the next revision of a work instruction whose process changed."""
        return await self.write(
            f"/work-instructions/{seg(wi_id)}/reissue",
            {"reason": reason},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )

    async def get_routing(self, routing_id: str) -> Routing:
        return Routing.model_validate(await self.get(f"/routings/{seg(routing_id)}"))

    async def update_operation(
        self,
        routing_id: str,
        op_no: int,
        *,
        std_time_min: float | None,
        work_center: str | None,
        idempotency_key: str,
        change_id: str,
    ) -> dict[str, Any]:
        """Set an operation's standard time and/or work center (the routing's next revision)."""
        return await self.write(
            f"/routings/{seg(routing_id)}/operations/{seg(op_no)}",
            {"std_time_min": std_time_min, "work_center": work_center},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )

    async def restore_operation(
        self,
        routing_id: str,
        op_no: int,
        *,
        revision: int,
        std_time_min: float,
        work_center: str,
        idempotency_key: str,
        change_id: str,
    ) -> dict[str, Any]:
        return await self.write(
            f"/routings/{seg(routing_id)}/operations/{seg(op_no)}/restore",
            {"revision": revision, "std_time_min": std_time_min, "work_center": work_center},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )

    # -- equipment changes ---------------------------------------------------------------
    async def add_equipment_record(
        self, equipment: str, kind: str, protocol: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]:
        """A qualification record of the equipment: `safety_review` or `validation` (IQ/OQ/PQ)."""
        return await self.write(
            f"/equipment/{seg(equipment)}/records",
            {"kind": kind, "protocol": protocol},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )

    async def equipment_record_exists(self, record_id: str) -> bool:
        try:
            await self.get(f"/equipment-records/{seg(record_id)}")
        except NotFoundError:
            return False
        return True

    async def withdraw_equipment_record(
        self, record_id: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]:
        return await self.write(
            f"/equipment-records/{seg(record_id)}/withdraw",
            {"reason": "change undone"},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )

    async def get_nc_program(self, program: str) -> NcProgram:
        return NcProgram.model_validate(await self.get(f"/nc-programs/{seg(program)}"))

    async def release_nc_program(
        self, program: str, equipment: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]:
        """Release the next revision of an NC program on `equipment`."""
        return await self.write(
            f"/nc-programs/{seg(program)}/release",
            {"equipment": equipment},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )

    async def restore_nc_program(
        self, program: str, revision: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]:
        return await self.write(
            f"/nc-programs/{seg(program)}/restore",
            {"revision": revision},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )

    async def get_equipment(self, equipment: str) -> dict[str, Any] | None:
        try:
            return await self.get(f"/equipment/{seg(equipment)}")
        except NotFoundError:
            return None

    async def update_equipment_master(
        self, equipment: str, status: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]:
        """Set the equipment's master-data status (creating it when new)."""
        return await self.write(
            f"/equipment/{seg(equipment)}/master",
            {"status": status},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )

    async def restore_equipment_master(
        self,
        equipment: str,
        previous: dict[str, Any] | None,
        *,
        idempotency_key: str,
        change_id: str,
    ) -> dict[str, Any]:
        return await self.write(
            f"/equipment/{seg(equipment)}/master/restore",
            {"previous": previous},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )
