"""Checks a submitted change against the systems of record before anything starts."""

from __future__ import annotations

import asyncio
import contextlib

from connectors.errors import NotFoundError
from connectors.registry import Connectors
from domain.assessment import validate_against_thread
from domain.change_request import ChangeRequest
from domain.thread import Part


async def validate_against_systems(request: ChangeRequest, connectors: Connectors) -> list[str]:
    """Every problem found, each naming the object; empty when the change can start.

    Only the changed parts are read from PLM; the rules are the domain's. A PLM that cannot
    be reached raises ConnectorError (the API answers 503: nothing is known to be wrong)."""
    plm = connectors.plm()
    parts: dict[str, Part] = {}

    async def fetch(number: str) -> None:
        with contextlib.suppress(NotFoundError):
            parts[number] = await plm.get_part(number)

    await asyncio.gather(*(fetch(item.part) for item in request.items))
    return validate_against_thread(request, parts, connectors.plants())
