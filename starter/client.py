"""The CLI's client of the HTTP API: bearer token, clear errors, nothing else."""

from __future__ import annotations

import os
from typing import Any

import httpx


class ApiError(Exception):
    def __init__(self, status: int, detail: Any) -> None:
        lines = detail if isinstance(detail, list) else [str(detail)]
        super().__init__("\n".join(str(line) for line in lines))
        self.status = status
        self.lines = [str(line) for line in lines]


class ApiClient:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token if token is not None else os.environ.get("CHANGEFLOW_TOKEN")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._send(method, path, **kwargs).json()

    def get_bytes(self, path: str, **params: Any) -> bytes:
        """A document (HTML, PDF) rather than JSON."""
        return self._send("GET", path, params=params).content

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, headers=self._headers(), **kwargs)
        except httpx.TransportError as exc:
            raise ApiError(
                0,
                f"cannot reach the changeflow API at {self.base_url} "
                f"({exc.__class__.__name__}); is `changeflow up` running?",
            ) from exc
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise ApiError(response.status_code, detail)
        return response

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, json=body)
