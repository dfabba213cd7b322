"""The ERP connector of a plant whose ERP is Tryton (JSON-RPC), in the same business terms as the
REST reference (`connectors/erp.py`): the reads of `reads.py` and the writes here. Every write
reads before it writes, leaves a note carrying its idempotency key on each record it touched, and
answers a repeated key with the first result; each has its compensation (the same write back).

Only notes that changeflow's own Tryton user created on the records being written count as an
earlier write (keys are predictable: a clerk who writes a note with one must not make a write,
or its undo, look done)."""

from __future__ import annotations

from typing import Any

from connectors.errors import NotFoundError, RejectedConnectorError
from connectors.tryton import mapping as m
from connectors.tryton.reads import TrytonReads
from domain.thread.objects import PurchaseOrder


class TrytonErp(TrytonReads):
    """One plant's ERP on Tryton: reads and idempotent, compensable writes."""

    # -- idempotency ------------------------------------------------------------------------
    async def _own_notes(self, domain: list[Any], **kwargs: Any) -> list[dict[str, Any]]:
        """Notes matching `domain` that changeflow's own Tryton user created."""
        own = ["create_uid", "=", await self.rpc.user_id()]
        return await self.rpc.search_read("ir.note", [*domain, own], ["message"], **kwargs)

    async def _replayed(self, key: str, resources: list[str]) -> dict[str, Any] | None:
        """The result recorded by an earlier write with `key` on one of `resources` (the records
        this write touches), marked replayed."""
        if not resources:
            return None
        marker = m.key_marker(key)
        notes = await self._own_notes(
            [["message", "ilike", f"%{marker.strip()}%"], ["resource", "in", resources]], limit=20
        )
        for note in notes:
            if marker in (note["message"] or "") + "\n":
                result = m.note_result(note["message"])
                if result is not None:
                    return {**result, "replayed": True}
        return None

    async def _record(
        self,
        resources: list[str],
        *,
        change_id: str,
        key: str,
        what: str,
        result: dict[str, Any],
    ) -> dict[str, Any]:
        message = m.write_note(change_id, key, what, result)
        await self.rpc.create("ir.note", [{"resource": r, "message": message} for r in resources])
        return {**result, "replayed": False}

    async def _variant(self, part: str, revision: str, *, create: bool = False) -> int:
        """The product of `part` at `revision` (created as a new variant of the part's template
        when `create` and missing)."""
        code = m.product_code(part, revision)
        rows = await self.rpc.search_read(
            "product.product", [["code", "=", code]], ["id"], context={"active_test": False}
        )
        if rows:
            return rows[0]["id"]
        if not create:
            raise NotFoundError(self.system, f"product {code} does not exist in Tryton", 404)
        templates = await self.rpc.search_read("product.template", [["code", "=", part]], ["id"])
        if not templates:
            raise NotFoundError(self.system, f"part {part} is not a product in Tryton", 404)
        (new_id,) = await self.rpc.create(
            "product.product",
            [{"template": templates[0]["id"], "suffix_code": f"{m.SUFFIX}{revision}"}],
        )
        return new_id

    # -- MBOM -------------------------------------------------------------------------------
    async def component_revisions(self, component: str) -> dict[str, str]:
        """parent -> revision of `component` it consumes, for this plant's BOMs."""
        lines, _ = await self._mbom([["product.template.code", "=", component]], 100_000)
        return {line.parent: line.component_revision for line in lines}

    async def set_component_revision(
        self,
        component: str,
        from_revision: str,
        to_revision: str,
        *,
        idempotency_key: str,
        change_id: str,
    ) -> dict[str, Any]:
        """Every BOM input that consumes `component` at `from_revision` gets the product of
        `to_revision` instead (a variant created if the ERP does not have it yet)."""
        old = await self._variant_or_none(component, from_revision)
        new = await self._variant_or_none(component, to_revision)
        consuming = await self.rpc.search_read(
            "production.bom.input",
            [["product", "in", [p for p in (old, new) if p]]],
            ["bom", "product"],
        )
        touched = [f"production.bom,{b}" for b in sorted({i["bom"] for i in consuming})]
        touched += [f"product.product,{new}"] if new else []
        if (replay := await self._replayed(idempotency_key, touched)) is not None:
            return replay
        new = new or await self._variant(component, to_revision, create=True)
        inputs = [i for i in consuming if old is not None and i["product"] == old]
        if inputs:
            await self.rpc.write(
                "production.bom.input", [i["id"] for i in inputs], {"product": new}
            )
        boms = sorted({i["bom"] for i in inputs})
        parents = await self._bom_parts(boms)
        result = {
            "component": component,
            "revision": to_revision,
            "previous_revision": from_revision,
            "lines_updated": len(inputs),
            "parents": parents,
        }
        resources = [f"production.bom,{b}" for b in boms] or [f"product.product,{new}"]
        what = f"BOM input {component} rev {from_revision} -> rev {to_revision}"
        return await self._record(
            resources, change_id=change_id, key=idempotency_key, what=what, result=result
        )

    async def _variant_or_none(self, part: str, revision: str) -> int | None:
        try:
            return await self._variant(part, revision)
        except NotFoundError:
            return None

    async def _bom_parts(self, boms: list[int]) -> list[str]:
        if not boms:
            return []
        outputs = await self.rpc.search_read(
            "production.bom.output", [["bom", "in", boms]], ["product.code"]
        )
        return sorted({m.split_code(o["product."]["code"])[0] for o in outputs})

    # -- purchase orders --------------------------------------------------------------------
    async def _purchase(self, po: str) -> dict[str, Any]:
        return await self.rpc.one(
            "purchase.purchase",
            [["reference", "=", po]],
            ["state", "party.rec_name", "lines"],
            f"purchase order {po}",
        )

    async def get_purchase_order(self, po: str) -> PurchaseOrder:
        purchase = await self._purchase(po)
        lines = await self.rpc.search_read(
            "purchase.line",
            [["purchase", "=", purchase["id"]], ["type", "=", "line"]],
            ["product.code", "quantity", "delivery_date"],
        )
        if not lines:
            raise NotFoundError(self.system, f"purchase order {po} has no line", 404)
        line = lines[0]
        return self._purchase_order(
            po, purchase["party."]["rec_name"], line["product."]["code"], line
        )

    async def revise_purchase_order(
        self,
        po: str,
        part: str,
        revision: str,
        note: str | None,
        *,
        idempotency_key: str,
        change_id: str,
    ) -> dict[str, Any]:
        """The purchase line for `part` buys `revision` (the note records the supplier's
        agreement; None clears it). A quotation is set back to draft for the edit and quoted
        again, as a buyer would; a confirmed purchase is Tryton's to refuse."""
        purchase = await self._purchase(po)
        touched = [f"purchase.purchase,{purchase['id']}"]
        if (replay := await self._replayed(idempotency_key, touched)) is not None:
            return replay
        lines = await self.rpc.search_read(
            "purchase.line",
            [["purchase", "=", purchase["id"]], ["product.template.code", "=", part]],
            ["product.code", "note"],
        )
        if not lines:
            raise RejectedConnectorError(
                self.system, f"purchase order {po} has no line for {part}", 409
            )
        line = lines[0]
        previous = m.split_code(line["product."]["code"])[1]
        new = await self._variant(part, revision, create=True)
        requote = purchase["state"] == "quotation"
        if requote:
            await self.rpc.button("purchase.purchase", "draft", [purchase["id"]])
        await self.rpc.write("purchase.line", [line["id"]], {"product": new, "note": note})
        if requote:
            await self.rpc.button("purchase.purchase", "quote", [purchase["id"]])
        result = {
            "id": po,
            "supplier": purchase["party."]["rec_name"],
            "revision": revision,
            "previous_revision": previous,
            "previous_note": line["note"],
        }
        what = f"purchase order {po} line {part} rev {previous} -> rev {revision}"
        return await self._record(
            touched,
            change_id=change_id,
            key=idempotency_key,
            what=what,
            result=result,
        )

    # -- stock ------------------------------------------------------------------------------
    async def _location(self, code: str) -> int:
        for location_id, found in (await self._storage()).items():
            if found == code:
                return location_id
        raise NotFoundError(self.system, f"location {code} does not exist in Tryton", 404)

    async def _dispositions(self, product_id: int) -> list[str]:
        """The dispositions changeflow recorded on the product, oldest first."""
        notes = await self._own_notes(
            [["resource", "=", f"product.product,{product_id}"]], order=[["id", "ASC"]]
        )
        return [n["message"] or "" for n in notes]

    async def get_stock(self, key: str) -> dict[str, Any]:
        """One stock record, keyed `part|revision|location`, with its disposition if any."""
        part, revision, location = m.split_stock_key(key)
        product = await self._variant(part, revision)
        lots = await self._lots_at(await self._location(location), product)
        if not lots:
            raise NotFoundError(self.system, f"stock record {key} does not exist", 404)
        record: dict[str, Any] = {
            "key": key,
            "part": part,
            "revision": revision,
            "location": location,
            "qty": sum(lot["quantity"] for lot in lots),
            "lots": sorted(lot["number"] for lot in lots),
        }
        disposition = m.disposition_in(await self._dispositions(product), location)
        if disposition is not None:
            record["disposition"] = disposition
        return record

    async def set_disposition(
        self, key: str, disposition: str | None, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]:
        """Record what happens to this stock (a note on the revision's product)."""
        part, revision, location = m.split_stock_key(key)
        await self.get_stock(key)  # it exists
        product = await self._variant(part, revision)
        touched = [f"product.product,{product}"]
        if (replay := await self._replayed(idempotency_key, touched)) is not None:
            return replay
        previous = m.disposition_in(await self._dispositions(product), location)
        result = {"key": key, "disposition": disposition, "previous_disposition": previous}
        return await self._record(
            touched,
            change_id=change_id,
            key=idempotency_key,
            what=m.disposition_note(location, disposition),
            result=result,
        )

    # -- administration ---------------------------------------------------------------------
    async def system_version(self) -> str:
        return f"Tryton {await self.rpc.server_version()}"

    async def create_backup(self, before_release: str, **_: Any) -> dict[str, Any]:
        raise self._no_release()

    async def backup_exists(self, backup_id: str) -> bool:
        return False

    async def discard_backup(self, backup_id: str, **_: Any) -> dict[str, Any]:
        raise self._no_release()

    async def cutover(self, version: str, **_: Any) -> dict[str, Any]:
        raise self._no_release()

    def _no_release(self) -> RejectedConnectorError:
        return RejectedConnectorError(
            self.system, "Tryton releases are upgraded with trytond-admin, not by changeflow", 422
        )
