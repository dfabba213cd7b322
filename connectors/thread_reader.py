"""Reading the digital thread from every configured system into one snapshot."""

from __future__ import annotations

import asyncio

from connectors.registry import Connectors
from domain.thread import Plant, ThreadSnapshot


async def read_thread(connectors: Connectors) -> ThreadSnapshot:
    """PLM plus every plant's ERP, MES and QMS, read concurrently."""
    plm = connectors.plm()
    parts, ebom = await asyncio.gather(plm.list_parts(), plm.list_ebom())
    snapshot = ThreadSnapshot(
        plants=[Plant(code=p.code, name=p.name) for p in connectors.settings.plants],
        parts=parts,
        ebom=ebom,
    )

    async def plant(code: str) -> None:
        erp, mes, qms = connectors.erp(code), connectors.mes(code), connectors.qms(code)
        (mbom, orders, stock, pos, routings, wis, quals, plans) = await asyncio.gather(
            erp.list_mbom(),
            erp.list_production_orders(),
            erp.list_inventory(),
            erp.list_purchase_orders(),
            mes.list_routings(),
            mes.list_work_instructions(),
            mes.list_qualifications(),
            qms.list_inspection_plans(),
        )
        snapshot.mbom.extend(mbom)
        snapshot.production_orders.extend(orders)
        snapshot.inventory.extend(stock)
        snapshot.purchase_orders.extend(pos)
        snapshot.routings.extend(routings)
        snapshot.work_instructions.extend(wis)
        snapshot.qualifications.extend(quals)
        snapshot.inspection_plans.extend(plans)

    await asyncio.gather(*(plant(code) for code in connectors.plants()))
    return snapshot
