"""Checks a submitted change against the systems of record before anything starts."""

from __future__ import annotations

import asyncio
import contextlib

from connectors.errors import NotFoundError
from connectors.registry import Connectors
from domain.change_request import ChangeRequest, ChangeType
from domain.change_validation import PartFacts, validate_against_thread


async def validate_against_systems(request: ChangeRequest, connectors: Connectors) -> list[str]:
    """Every problem found, each naming the object; empty when the change can start.

    Only the changed parts are read from PLM; the rules are the domain's. A PLM that cannot
    be reached raises ConnectorError (the API answers 503: nothing is known to be wrong)."""
    if request.type != ChangeType.part_revision:
        return [
            f"type: {request.type.value} changes can be assessed (changeflow assess) but "
            "not rolled out yet; only part_revision changes run"
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
    return validate_against_thread(request, parts, connectors.plants())
