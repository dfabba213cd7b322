"""Request limits (413, 422 before parsing) and the API docs served without a CDN."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from starter.api.limits import exceeds_depth, install_limits
from starter.server import create_app


def small_app() -> FastAPI:
    app = FastAPI()
    install_limits(app, max_body_bytes=30_000, max_json_depth=4)

    @app.post("/echo")
    async def echo(body: dict) -> dict:
        return body

    return app


@pytest.fixture
async def client():
    transport = httpx.ASGITransport(app=small_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


def test_depth_counts_brackets_outside_strings_only() -> None:
    assert not exceeds_depth(b'{"a": [1, {"b": "[[[[[[[[["}]}', 3)
    assert exceeds_depth(b'{"a": [[[[1]]]]}', 4)
    assert not exceeds_depth(b'{"a": "\\"[[[[[[["}', 1)
    assert exceeds_depth(b"[" * 10_000 + b"]" * 10_000, 32)


async def test_limits_answer_before_the_app_parses(client: httpx.AsyncClient) -> None:
    assert (await client.post("/echo", json={"a": [1, 2]})).json() == {"a": [1, 2]}
    deep = await client.post(
        "/echo", content=b"[" * 10_000 + b"]" * 10_000, headers={"content-type": "application/json"}
    )
    assert deep.status_code == 422 and "nested deeper than 4" in deep.json()["detail"][0]
    big = await client.post("/echo", json={"a": "x" * 50_000})
    assert big.status_code == 413 and "limit is 30000" in big.json()["detail"]

    async def chunks():
        for _ in range(10):
            yield b" " * 5000

    streamed = await client.post("/echo", content=chunks())  # no Content-Length: chunked
    assert streamed.status_code == 413
    assert (await client.get("/openapi.json")).status_code == 200


async def test_docs_need_no_cdn() -> None:
    app = create_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        page = await c.get("/docs")
        assert page.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text) + re.findall(
            r"url: *'([^']+)'", page.text
        )
        assert assets and not [a for a in assets if a.startswith(("http:", "https:", "//"))]
        for asset in assets:
            if asset.endswith((".js", ".css", ".png")):
                response = await c.get(asset)
                assert response.status_code == 200 and len(response.content) > 1000, asset
