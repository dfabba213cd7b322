"""The HTTP plumbing every REST connector shares: error mapping, idempotency headers, paging."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import quote

import httpx
from opentelemetry import trace
from pydantic import BaseModel

from connectors.errors import NotFoundError, RejectedConnectorError, TransientConnectorError

M = TypeVar("M", bound=BaseModel)
_tracer = trace.get_tracer("changeflow.connectors")


class Page(BaseModel, Generic[M]):
    """One page of a listing: the objects and the cursor of the next page (None: last)."""

    items: list[M]
    next_cursor: str | None = None


class HttpSystem:
    """One system of record reached over HTTP at `base_url`.

    Subclasses name their collections in `COLLECTIONS` (kind -> path, model); `page(kind)`
    then lists any of them, page by page, optionally only what changed since a time."""

    COLLECTIONS: ClassVar[dict[str, tuple[str, type[BaseModel]]]] = {}

    def __init__(
        self,
        system: str,
        base_url: str,
        *,
        timeout: float = 15.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.system = system
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def _send(self, method: str, path: str, *, raw: bool = False, **kwargs: Any) -> Any:
        """The answer's JSON (`raw`: its bytes), or the connector error its status means."""
        url = f"{self.base_url}{path}"
        headers = kwargs.get("headers") or {}
        with _tracer.start_as_current_span(
            f"{self.system} {method}", kind=trace.SpanKind.CLIENT
        ) as span:
            span.set_attribute("http.request.method", method)
            span.set_attribute("url.full", url)
            span.set_attribute("changeflow.system", self.system)
            if "Idempotency-Key" in headers:
                span.set_attribute("changeflow.idempotency_key", headers["Idempotency-Key"])
            try:
                response = await self._client.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                span.set_status(trace.StatusCode.ERROR, repr(exc))
                raise TransientConnectorError(self.system, f"{method} {url}: {exc!r}") from exc
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 400:
                span.set_status(trace.StatusCode.ERROR, f"HTTP {response.status_code}")
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientConnectorError(
                self.system,
                f"{method} {path} answered {response.status_code}: {_detail(response)}",
                response.status_code,
            )
        if response.status_code == 404:
            raise NotFoundError(self.system, _detail(response), 404)
        if response.status_code >= 400:
            raise RejectedConnectorError(self.system, _detail(response), response.status_code)
        return response.content if raw else response.json()

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return await self._send("GET", path, params=params)

    async def write(
        self, path: str, body: dict[str, Any], *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]:
        """POST with the idempotency key and the change id every write carries."""
        headers = {"Idempotency-Key": idempotency_key, "X-Change-Id": change_id}
        return await self._send("POST", path, json=body, headers=headers)

    def kinds(self) -> list[str]:
        return list(self.COLLECTIONS)

    # -- administration for releases (connectors/admin.py) --------------------------------
    async def system_version(self) -> str:
        return (await self.get("/admin/version"))["version"]

    async def create_backup(
        self, before_release: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]:
        """Record a backup of the system as it is, before `before_release` is cut over."""
        return await self.write(
            "/admin/backups",
            {"version": before_release},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )

    async def backup_exists(self, backup_id: str) -> bool:
        try:
            await self.get(f"/admin/backups/{seg(backup_id)}")
        except NotFoundError:
            return False
        return True

    async def discard_backup(
        self, backup_id: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]:
        return await self.write(
            f"/admin/backups/{seg(backup_id)}/discard",
            {"reason": "release undone"},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )

    async def cutover(
        self, version: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]:
        """Switch the system to `version`; the answer names the version it ran before."""
        return await self.write(
            "/admin/cutover",
            {"version": version},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )

    async def page(
        self,
        kind: str,
        *,
        after: str | None = None,
        since: datetime | None = None,
        limit: int = 2000,
    ) -> Page:
        """Objects of `kind` after the cursor `after`, changed since `since` if given."""
        body = await self.page_json(kind, after=after, since=since, limit=limit)
        return Page[self.COLLECTIONS[kind][1]].model_validate_json(body)  # in Rust, from bytes

    async def page_json(
        self,
        kind: str,
        *,
        after: str | None = None,
        since: datetime | None = None,
        limit: int = 2000,
    ) -> bytes:
        """The same page as the system's JSON listing (`{"items": [...], "next_cursor": ...}`),
        unparsed: the thread sync's bulk path, which checks documents where it makes rows."""
        if kind not in self.COLLECTIONS:
            raise ValueError(f"{self.system} has no collection of {kind}")
        path, _model = self.COLLECTIONS[kind]
        params: dict[str, Any] = {"limit": limit}
        if after:
            params["after"] = after
        if since is not None:
            params["updated_since"] = since.isoformat()
        return await self._send("GET", path, params=params, raw=True)

    async def all_of(self, kind: str) -> list[Any]:
        """Every object of `kind`, all pages."""
        return await all_pages(self, kind)


async def all_pages(connector: Any, kind: str) -> list[Any]:
    """Every object of `kind` a connector's `page` lists, following the cursor to the end."""
    items: list[Any] = []
    cursor: str | None = None
    while True:
        page = await connector.page(kind, after=cursor)
        items.extend(page.items)
        cursor = page.next_cursor
        if not cursor:
            return items


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return str(body)[:500]


def seg(value: object) -> str:
    """One URL path segment: every identifier a connector puts in a path is percent-encoded,
    so a part number like `../../sim/faults` stays one segment of the intended resource."""
    text = quote(str(value), safe="")
    return text.replace(".", "%2E") if text in (".", "..") else text
