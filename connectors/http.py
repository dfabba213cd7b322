"""The HTTP plumbing every REST connector shares: error mapping, idempotency headers, paging."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from connectors.errors import NotFoundError, RejectedConnectorError, TransientConnectorError


class HttpSystem:
    """One system of record reached over HTTP at `base_url`."""

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

    async def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.base_url}{path}"
        try:
            response = await self._client.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise TransientConnectorError(self.system, f"{method} {url}: {exc!r}") from exc
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
        return response.json()

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return await self._send("GET", path, params=params)

    async def write(
        self, path: str, body: dict[str, Any], *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]:
        """POST with the idempotency key and the change id every write carries."""
        headers = {"Idempotency-Key": idempotency_key, "X-Change-Id": change_id}
        return await self._send("POST", path, json=body, headers=headers)

    async def pages(
        self, path: str, *, page_size: int = 1000, updated_since: str | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every page of a cursor-paged listing."""
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": page_size}
            if cursor is not None:
                params["after"] = cursor
            if updated_since is not None:
                params["updated_since"] = updated_since
            page = await self.get(path, params)
            yield page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    async def list_all(self, path: str, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        async for page in self.pages(path, **kwargs):
            items.extend(page)
        return items


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return str(body)[:500]
