"""The simulator's system administration for releases: each plant system's version, pre-cutover
backup records, and the cutover itself. Writes are idempotent by key and in the ledger."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel, Field
from sqlmodel import Session

from connectors.sim.store import SimRejection, SimStore

RELEASABLE = {"erp": "ERP", "mes": "MES", "qms": "QMS"}
DEFAULT_VERSIONS = {"ERP": "7.4", "MES": "11.1", "QMS": "5.2"}  # until a first cutover


class BackupRequest(BaseModel):
    version: str = Field(min_length=1, max_length=40)


class CutoverRequest(BaseModel):
    version: str = Field(min_length=1, max_length=40)


class DiscardRequest(BaseModel):
    reason: str = Field(default="", max_length=2000)


def add_release_routes(
    app: FastAPI, store: SimStore, write: Callable[..., dict[str, Any]], need_plant: Callable
) -> None:
    def system_of(name: str) -> str:
        if name not in RELEASABLE:
            raise HTTPException(404, f"no system {name} with releases here (erp, mes, qms)")
        return RELEASABLE[name]

    def version_in(session: Session | None, system: str, plant: str) -> str:
        doc = (
            store.read(session, system, plant, "system_version", "current")
            if session is not None
            else store.get(system, plant, "system_version", "current")
        )
        return doc["version"] if doc else DEFAULT_VERSIONS[system]

    @app.get("/{name}/{plant}/admin/version")
    def get_version(name: str, plant: str) -> dict[str, Any]:
        system = system_of(name)
        need_plant(plant)
        return {"system": system, "plant": plant, "version": version_in(None, system, plant)}

    @app.get("/{name}/{plant}/admin/backups/{backup_id}")
    def get_backup(name: str, plant: str, backup_id: str) -> dict[str, Any]:
        doc = store.get(system_of(name), plant, "backup", backup_id)
        if doc is None:
            raise HTTPException(404, f"backup {backup_id} does not exist in {plant}")
        return doc

    @app.post("/{name}/{plant}/admin/backups")
    def create_backup(
        name: str,
        plant: str,
        body: BackupRequest,
        idempotency_key: str | None = Header(None),
        x_change_id: str | None = Header(None),
    ) -> dict[str, Any]:
        system = system_of(name)
        need_plant(plant)

        def apply(session: Session) -> dict[str, Any]:
            current = version_in(session, system, plant)
            backup_id = f"BK-{plant}-{system}-{(x_change_id or '')[-12:]}-{current}"
            doc = {
                "id": backup_id,
                "system": system,
                "plant": plant,
                "version": current,
                "before_release": body.version,
                "status": "kept",
            }
            store.put(session, system, plant, "backup", backup_id, doc)
            return doc

        return write(
            key=idempotency_key,
            change_id=x_change_id,
            system=system,
            plant=plant,
            action="backup_system",
            target=f"{system}@{plant}",
            body=body,
            apply=apply,
        )

    @app.post("/{name}/{plant}/admin/backups/{backup_id}/discard")
    def discard_backup(
        name: str,
        plant: str,
        backup_id: str,
        body: DiscardRequest,
        idempotency_key: str | None = Header(None),
        x_change_id: str | None = Header(None),
    ) -> dict[str, Any]:
        system = system_of(name)
        need_plant(plant)

        def apply(session: Session) -> dict[str, Any]:
            if store.read(session, system, plant, "backup", backup_id) is None:
                raise SimRejection(404, f"backup {backup_id} does not exist in {plant}")
            store.delete(session, system, plant, "backup", backup_id)
            return {"id": backup_id, "discarded": True}

        return write(
            key=idempotency_key,
            change_id=x_change_id,
            system=system,
            plant=plant,
            action="discard_backup",
            target=backup_id,
            body=body,
            apply=apply,
        )

    @app.post("/{name}/{plant}/admin/cutover")
    def cutover(
        name: str,
        plant: str,
        body: CutoverRequest,
        idempotency_key: str | None = Header(None),
        x_change_id: str | None = Header(None),
    ) -> dict[str, Any]:
        system = system_of(name)
        need_plant(plant)

        def apply(session: Session) -> dict[str, Any]:
            previous = version_in(session, system, plant)
            doc = {"system": system, "plant": plant, "version": body.version}
            store.put(session, system, plant, "system_version", "current", doc)
            return {
                "system": system,
                "plant": plant,
                "version": body.version,
                "previous_version": previous,
            }

        return write(
            key=idempotency_key,
            change_id=x_change_id,
            system=system,
            plant=plant,
            action="cutover_system",
            target=f"{system}@{plant}",
            body=body,
            apply=apply,
        )
