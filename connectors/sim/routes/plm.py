"""The simulator's PLM: parts and their revisions, the engineering BOM, and the writes a change
makes there (release a revision; withdraw it again, the undo), idempotent by key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Header, HTTPException, Query, Response
from pydantic import BaseModel
from sqlmodel import Session

from connectors.sim.store import SimRejection, SimStore
from domain.change.revisions import is_after


class ReleaseRevision(BaseModel):
    revision: str
    from_revision: str


class WithdrawRevision(BaseModel):
    restore_revision: str


def add_plm_routes(app: FastAPI, store: SimStore, write: Callable[..., dict[str, Any]]) -> None:
    # -- PLM -------------------------------------------------------------------------------
    @app.get("/plm/parts")
    def list_parts(
        after: str | None = None,
        limit: int = Query(1000, ge=1, le=10000),
        updated_since: datetime | None = None,
    ) -> Response:
        body = store.page_json(
            "PLM", "", "part", after=after, limit=limit, updated_since=updated_since
        )
        return Response(body, media_type="application/json")

    @app.get("/plm/parts/{number}")
    def get_part(number: str) -> dict[str, Any]:
        part = store.get("PLM", "", "part", number)
        if part is None:
            raise HTTPException(404, f"part {number} does not exist")
        return part

    @app.get("/plm/ebom")
    def list_ebom(
        after: str | None = None,
        limit: int = Query(1000, ge=1, le=10000),
        updated_since: datetime | None = None,
    ) -> Response:
        body = store.page_json(
            "PLM", "", "ebom_line", after=after, limit=limit, updated_since=updated_since
        )
        return Response(body, media_type="application/json")

    @app.post("/plm/parts/{number}/revisions")
    def release_revision(
        number: str,
        body: ReleaseRevision,
        idempotency_key: str | None = Header(None),
        x_change_id: str | None = Header(None),
    ) -> dict[str, Any]:
        def apply(session: Session) -> dict[str, Any]:
            part = store.read(session, "PLM", "", "part", number)
            if part is None:
                raise SimRejection(404, f"part {number} does not exist")
            if part["current_revision"] != body.from_revision:
                raise SimRejection(
                    409,
                    f"part {number} is at revision {part['current_revision']}, "
                    f"not {body.from_revision}",
                )
            if any(r["revision"] == body.revision for r in part["revisions"]):
                raise SimRejection(409, f"revision {body.revision} of {number} already exists")
            if not is_after(body.revision, body.from_revision):
                raise SimRejection(
                    422, f"revision {body.revision} does not follow {body.from_revision}"
                )
            for rev in part["revisions"]:
                if rev["revision"] == body.from_revision:
                    rev["status"] = "superseded"
            part["revisions"].append(
                {"revision": body.revision, "status": "released", "change_id": x_change_id}
            )
            part["current_revision"] = body.revision
            store.put(session, "PLM", "", "part", number, part)
            return {
                "part": number,
                "current_revision": body.revision,
                "previous_revision": body.from_revision,
            }

        return write(
            key=idempotency_key,
            change_id=x_change_id,
            system="PLM",
            plant=None,
            action="release_revision",
            target=number,
            body=body,
            apply=apply,
        )

    @app.post("/plm/parts/{number}/revisions/{revision}/withdraw")
    def withdraw_revision(
        number: str,
        revision: str,
        body: WithdrawRevision,
        idempotency_key: str | None = Header(None),
        x_change_id: str | None = Header(None),
    ) -> dict[str, Any]:
        def apply(session: Session) -> dict[str, Any]:
            part = store.read(session, "PLM", "", "part", number)
            if part is None:
                raise SimRejection(404, f"part {number} does not exist")
            revs = {r["revision"]: r for r in part["revisions"]}
            if revision not in revs or body.restore_revision not in revs:
                raise SimRejection(
                    409, f"part {number} has no revision {revision} or {body.restore_revision}"
                )
            revs[revision]["status"] = "withdrawn"
            revs[body.restore_revision]["status"] = "released"
            part["current_revision"] = body.restore_revision
            store.put(session, "PLM", "", "part", number, part)
            return {
                "part": number,
                "current_revision": body.restore_revision,
                "withdrawn": revision,
            }

        return write(
            key=idempotency_key,
            change_id=x_change_id,
            system="PLM",
            plant=None,
            action="withdraw_revision",
            target=number,
            body=body,
            apply=apply,
        )
