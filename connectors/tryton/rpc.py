"""Tryton's JSON-RPC, as a session: login, renewal when the session expires, the user's context
on every call, and Tryton's errors mapped to the connector's retryable and rejected errors.

Credentials come only from the environment: `CHANGEFLOW_TRYTON_USER` (default `admin`) and
`CHANGEFLOW_TRYTON_PASSWORD`, or `CHANGEFLOW_TRYTON_<PLANT>_USER` / `_PASSWORD` for one plant.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
from opentelemetry import trace

from connectors.errors import (
    ConnectorError,
    NotFoundError,
    RejectedConnectorError,
    TransientConnectorError,
)

_tracer = trace.get_tracer("changeflow.connectors")
RETRYABLE = {"ConcurrencyException", "RateLimitException", "TimeOutException"}


def credentials(plant: str, env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(login, password) for the plant's Tryton, from the environment only."""
    env = os.environ if env is None else env
    login = env.get(f"CHANGEFLOW_TRYTON_{plant}_USER") or env.get("CHANGEFLOW_TRYTON_USER")
    password = env.get(f"CHANGEFLOW_TRYTON_{plant}_PASSWORD") or env.get(
        "CHANGEFLOW_TRYTON_PASSWORD"
    )
    if not password:
        raise RejectedConnectorError(
            f"ERP {plant}",
            "no Tryton password: set CHANGEFLOW_TRYTON_PASSWORD "
            f"(or CHANGEFLOW_TRYTON_{plant}_PASSWORD)",
        )
    return login or "admin", password


def encode(value: Any) -> Any:
    """Python values in Tryton's JSON: dates, datetimes and decimals as its typed objects."""
    if isinstance(value, datetime):
        return {
            "__class__": "datetime",
            **{k: getattr(value, k) for k in ("year", "month", "day", "hour", "minute", "second")},
            "microsecond": value.microsecond,
        }
    if isinstance(value, date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    """Tryton's typed JSON objects back into Python values."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    kind = value.get("__class__")
    if kind == "date":
        return date(value["year"], value["month"], value["day"])
    if kind == "datetime":
        return datetime(
            value["year"],
            value["month"],
            value["day"],
            value.get("hour", 0),
            value.get("minute", 0),
            value.get("second", 0),
            value.get("microsecond", 0),
        )
    if kind == "Decimal":
        return Decimal(value["decimal"])
    if kind == "bytes":
        return base64.b64decode(value["base64"])
    return {k: decode(v) for k, v in value.items()}


def tryton_error(system: str, error: Any) -> ConnectorError:
    """The connector error for a JSON-RPC `error` member, with Tryton's own message."""
    if isinstance(error, list | tuple) and error and isinstance(error[0], str):
        kind, args = error[0], error[1] if len(error) > 1 else ()
        if kind in RETRYABLE:
            return TransientConnectorError(system, f"Tryton {kind}: {_message(args)}")
        if kind in ("UserError", "UserWarning", "AccessError", "LoginException"):
            parts = [str(a) for a in (args if isinstance(args, list | tuple) else [args]) if a]
            if kind == "UserWarning" and parts:
                parts = parts[1:]  # the first is the warning's name
            return RejectedConnectorError(system, f"Tryton refused: {' '.join(parts[:2])}", 422)
        if "database is locked" in kind or "could not serialize" in kind:
            return TransientConnectorError(system, f"Tryton: {kind}")
        return RejectedConnectorError(system, f"Tryton error: {kind}", 500)
    return RejectedConnectorError(system, f"Tryton error: {error!r}", 500)


def _message(args: Any) -> str:
    if isinstance(args, list | tuple):
        return " ".join(str(a) for a in args if a)
    return str(args)


class TrytonRpc:
    """One logged-in session on a Tryton database (`url` ends with the database name)."""

    def __init__(
        self,
        system: str,
        url: str,
        login: str,
        password: str,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.system = system
        self.url = url if url.endswith("/") else url + "/"
        self.rpc_url = self.url + "rpc/"  # Tryton 8 serves JSON-RPC at /<database>/rpc/
        self._login, self._password = login, password
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None
        self._auth: str | None = None
        self._uid: int | None = None
        self._context: dict[str, Any] = {}
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def _post(self, method: str, params: list[Any], auth: str | None) -> Any:
        headers = {"Authorization": auth} if auth else {}
        body = {"id": next(self._ids), "method": method, "params": encode(params)}
        with _tracer.start_as_current_span(
            f"{self.system} {method}", kind=trace.SpanKind.CLIENT
        ) as span:
            span.set_attribute("rpc.system", "jsonrpc")
            span.set_attribute("rpc.method", method)
            span.set_attribute("changeflow.system", self.system)
            try:
                response = await self._client.post(self.rpc_url, json=body, headers=headers)
            except httpx.TransportError as exc:
                span.set_status(trace.StatusCode.ERROR, repr(exc))
                raise TransientConnectorError(self.system, f"{method}: {exc!r}") from exc
        if response.status_code == 401:
            raise _SessionExpired()
        if response.status_code in (429, 503) or response.status_code >= 500:
            raise TransientConnectorError(
                self.system, f"{method} answered {response.status_code}", response.status_code
            )
        if response.status_code == 403:
            raise RejectedConnectorError(self.system, f"{method}: access denied", 403)
        if response.status_code >= 400:
            raise RejectedConnectorError(
                self.system, f"{method} answered {response.status_code}: {response.text[:300]}"
            )
        payload = response.json()
        if payload.get("error") is not None:
            raise tryton_error(self.system, payload["error"])
        return decode(payload.get("result"))

    async def _ensure_session(self, *, renew: bool = False) -> str:
        async with self._lock:
            if self._auth is None or renew:
                try:
                    answer = await self._post(
                        "common.db.login", [self._login, {"password": self._password}, "en"], None
                    )
                    uid, session = answer[0], answer[1]  # then the bus URL
                except _SessionExpired as exc:
                    raise RejectedConnectorError(self.system, "Tryton login refused", 401) from exc
                token = base64.b64encode(f"{self._login}:{uid}:{session}".encode()).decode()
                self._uid = uid
                self._auth = f"Session {token}"
                self._context = await self._post(
                    "model.res.user.get_preferences", [True, {}], self._auth
                )
            return self._auth

    async def user_id(self) -> int:
        """The id of the Tryton user this session logged in as (changeflow's own user)."""
        await self._ensure_session()
        assert self._uid is not None
        return self._uid

    async def call(self, method: str, *params: Any) -> Any:
        """`method` with `params`, the user's context appended."""
        return await self.call_with(method, {}, *params)

    async def call_with(self, method: str, context: dict[str, Any], *params: Any) -> Any:
        """`method` with the user's context updated by `context` appended; one renewal of an
        expired session."""
        auth = await self._ensure_session()
        try:
            return await self._post(method, [*params, {**self._context, **context}], auth)
        except _SessionExpired:
            auth = await self._ensure_session(renew=True)
            try:
                return await self._post(method, [*params, {**self._context, **context}], auth)
            except _SessionExpired as exc:
                raise RejectedConnectorError(self.system, "Tryton session refused", 401) from exc

    async def server_version(self) -> str:
        """Tryton's series (e.g. 8.2), from the server's root endpoint."""
        root = self.url[: self.url.rstrip("/").rfind("/") + 1] + "rpc/"
        try:
            answer = await self._client.post(
                root, json={"id": 0, "method": "common.server.version", "params": []}
            )
        except httpx.TransportError as exc:
            raise TransientConnectorError(self.system, f"version: {exc!r}") from exc
        return str(answer.json().get("result"))

    async def refresh_context(self) -> None:
        """Read the user's preferences again (after the user's company changed)."""
        await self._ensure_session(renew=True)

    # -- model helpers ----------------------------------------------------------------------
    async def search_read(
        self,
        model: str,
        domain: list[Any],
        fields: list[str],
        *,
        offset: int = 0,
        limit: int | None = None,
        order: list[list[str]] | None = None,
        context: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        order = order or [["id", "ASC"]]
        params = [domain, offset, limit, order, fields]
        return await self.call_with(f"model.{model}.search_read", context or {}, *params)

    async def one(self, model: str, domain: list[Any], fields: list[str], what: str) -> dict:
        rows = await self.search_read(model, domain, fields, limit=2)
        if not rows:
            raise NotFoundError(self.system, f"{what} does not exist", 404)
        if len(rows) > 1:
            raise RejectedConnectorError(self.system, f"{what} is ambiguous in Tryton", 409)
        return rows[0]

    async def create(self, model: str, values: list[dict[str, Any]]) -> list[int]:
        return await self.call(f"model.{model}.create", values)

    async def write(self, model: str, ids: list[int], values: dict[str, Any]) -> None:
        await self.call(f"model.{model}.write", ids, values)

    async def button(self, model: str, name: str, ids: list[int]) -> Any:
        return await self.call(f"model.{model}.{name}", ids)


class _SessionExpired(Exception):
    """Tryton answered 401: log in again."""
