"""Checks a submitted change against the systems of record before anything starts."""

from __future__ import annotations

import asyncio
import contextlib

from connectors.errors import NotFoundError
from connectors.registry import Connectors
from domain.change.request import ChangeRequest, EquipmentChange, OperationChange, SystemRelease
from domain.change.validation import PartFacts, validate_against_thread
from domain.rollout.builders import BUILDERS, RELEASED_BY_CUTOVER


async def validate_against_systems(request: ChangeRequest, connectors: Connectors) -> list[str]:
    """Every problem found, each naming the object; empty when the change can start.

    Only the changed objects are read (parts from PLM, routings from the plant's MES); the
    rules are the domain's. A system that cannot be reached raises ConnectorError (the API
    answers 503: nothing is known to be wrong)."""
    if request.type not in BUILDERS:
        return [
            f"type: {request.type.value} changes can be assessed (changeflow assess) but "
            "not rolled out yet"
        ]
    plm = connectors.plm()
    parts: dict[str, PartFacts] = {}

    async def fetch(number: str) -> None:
        with contextlib.suppress(NotFoundError):
            part = await plm.get_part(number)
            parts[number] = PartFacts(
                number=number,
                current_revision=part.current_revision,
                revisions=[r.revision for r in part.revisions],
            )

    await asyncio.gather(*(fetch(item.part) for item in request.part_items()))
    problems = validate_against_thread(request, parts, connectors.plants())
    for index, item in enumerate(request.items):
        if isinstance(item, OperationChange):
            problems += await _operation_problems(index, item, connectors)
        elif isinstance(item, EquipmentChange) and not item.new_equipment:
            if item.plant not in connectors.plants():
                problems.append(f"items.{index}.plant: plant {item.plant} does not exist")
            elif await connectors.mes(item.plant).get_equipment(item.equipment) is None:
                problems.append(
                    f"items.{index}.equipment: {item.equipment} is not in {item.plant}'s MES "
                    "(new equipment: set new_equipment: true)"
                )
        elif isinstance(item, SystemRelease) and item.system not in RELEASED_BY_CUTOVER:
            problems.append(
                f"items.{index}.system: {item.system} releases are assessed but not rolled out "
                f"yet (changeflow rolls out {', '.join(sorted(RELEASED_BY_CUTOVER))})"
            )
    return problems


async def _operation_problems(
    index: int, item: OperationChange, connectors: Connectors
) -> list[str]:
    where = f"items.{index}"
    if item.plant not in connectors.plants():
        return [f"{where}.plant: plant {item.plant} does not exist"]
    try:
        routing = await connectors.mes(item.plant).get_routing(item.routing)
    except NotFoundError:
        return [f"{where}.routing: routing {item.routing} does not exist in {item.plant}'s MES"]
    if not any(op.op_no == item.op_no for op in routing.operations):
        numbers = ", ".join(str(op.op_no) for op in routing.operations)
        return [f"{where}.op_no: routing {item.routing} has no operation {item.op_no} ({numbers})"]
    if item.std_time_min is None and not item.work_center:
        return [f"{where}: say what changes (std_time_min and/or work_center)"]
    return []
