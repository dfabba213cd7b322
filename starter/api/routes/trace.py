"""Traceability over HTTP: which change and revisions a unit was built under, and the units a
change's cut-in divides, per plant (units from each plant's MES, cut-ins from the audit trail)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request

from connectors.errors import ConnectorError
from domain.change.trace import BuiltUnit, CutInUnits, UnitTrace, trace_unit, units_around
from starter.api.deps import ChangeId, Reader, engine_of, responses
from store.cut_ins import cut_ins

router = APIRouter(tags=["traceability"])
Serial = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]


async def _units(request: Request) -> list[BuiltUnit]:
    connectors = request.app.state.connectors
    try:
        lists = await asyncio.gather(*(connectors.mes(p).list_units() for p in connectors.plants()))
    except ConnectorError as exc:
        raise HTTPException(503, f"an MES cannot answer now: {exc}") from exc
    return [u for units in lists for u in units]


@router.get(
    "/api/trace/units/{serial}", response_model=UnitTrace, responses=responses(401, 404, 422, 503)
)
async def trace(serial: Serial, request: Request, _user: Reader) -> UnitTrace:
    """The change in force for each component of the unit when it was built, the revision it
    should carry and whether it does, and the documents it was built with."""
    unit = next((u for u in await _units(request) if u.serial == serial), None)
    if unit is None:
        raise HTTPException(404, f"no MES knows unit {serial}")
    return trace_unit(unit, await asyncio.to_thread(cut_ins, engine_of(request)))


@router.get(
    "/api/changes/{change_id}/units",
    response_model=list[CutInUnits],
    responses=responses(401, 404, 422, 503),
)
async def change_units(change_id: ChangeId, request: Request, _user: Reader) -> list[CutInUnits]:
    """Per plant and part the change put in force: its cut-in and the units built before and
    after it (404 when the change has not cut in anywhere)."""
    engine = engine_of(request)
    mine = await asyncio.to_thread(cut_ins, engine, change_id)
    if not mine:
        raise HTTPException(404, f"change {change_id} has not cut in anywhere (not completed)")
    every = await asyncio.to_thread(cut_ins, engine)
    units = await _units(request)
    return [units_around(c, units, every) for c in mine]
