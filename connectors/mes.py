"""MES connector for one plant: routings, work instructions, operator qualifications."""

from __future__ import annotations

from typing import Any, Protocol

from connectors.http import HttpSystem
from domain.thread import Equipment, NcProgram, Qualification, Routing, WorkInstruction


class MesConnector(Protocol):
    plant: str

    async def list_routings(self) -> list[Routing]: ...
    async def list_work_instructions(self) -> list[WorkInstruction]: ...
    async def list_qualifications(self) -> list[Qualification]: ...
    async def list_equipment(self) -> list[Equipment]: ...
    async def list_nc_programs(self) -> list[NcProgram]: ...
    async def get_work_instruction(self, wi_id: str) -> WorkInstruction: ...
    async def publish_work_instruction(
        self, wi_id: str, part: str, part_revision: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]: ...
    async def restore_work_instruction(
        self,
        wi_id: str,
        revision: int,
        part: str,
        part_revision: str,
        *,
        idempotency_key: str,
        change_id: str,
    ) -> dict[str, Any]: ...
    async def aclose(self) -> None: ...


class RestMes(HttpSystem):
    """The reference REST MES of one plant (the simulator's)."""

    def __init__(self, plant: str, base_url: str, **kwargs: Any) -> None:
        super().__init__(f"MES {plant}", base_url, **kwargs)
        self.plant = plant

    async def list_routings(self) -> list[Routing]:
        return [Routing.model_validate(x) for x in await self.list_all("/routings")]

    async def list_work_instructions(self) -> list[WorkInstruction]:
        return [
            WorkInstruction.model_validate(x) for x in await self.list_all("/work-instructions")
        ]

    async def list_qualifications(self) -> list[Qualification]:
        return [Qualification.model_validate(x) for x in await self.list_all("/qualifications")]

    async def list_equipment(self) -> list[Equipment]:
        return [Equipment.model_validate(x) for x in await self.list_all("/equipment")]

    async def list_nc_programs(self) -> list[NcProgram]:
        return [NcProgram.model_validate(x) for x in await self.list_all("/nc-programs")]

    async def get_work_instruction(self, wi_id: str) -> WorkInstruction:
        return WorkInstruction.model_validate(await self.get(f"/work-instructions/{wi_id}"))

    async def publish_work_instruction(
        self, wi_id: str, part: str, part_revision: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]:
        """Publish the next revision of work instruction `wi_id`, showing `part` at
        `part_revision`."""
        return await self.write(
            f"/work-instructions/{wi_id}/revisions",
            {"part": part, "part_revision": part_revision},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )

    async def restore_work_instruction(
        self,
        wi_id: str,
        revision: int,
        part: str,
        part_revision: str,
        *,
        idempotency_key: str,
        change_id: str,
    ) -> dict[str, Any]:
        return await self.write(
            f"/work-instructions/{wi_id}/restore",
            {"revision": revision, "part": part, "part_revision": part_revision},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )
