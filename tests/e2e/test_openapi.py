"""The OpenAPI document describes the API: schemathesis runs every check against the running
API (dev server, simulator, workers) and must find nothing. Examples per operation are kept
small for `make test`; `make fuzz-api` runs more.

On a stack of its own, not the shared one: the fuzzer follows links from GET /api/changes to
whatever changes other tests left (its result would depend on which tests ran before) and, as
ops.admin, may act on them."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.e2e.conftest import LOOP
from tests.support.e2e_stack import Stack, running_stack

CONFIG = Path(__file__).parent / "schemathesis.toml"
EXAMPLES = os.environ.get("CHANGEFLOW_FUZZ_EXAMPLES", "10")


@pytest_asyncio.fixture(scope="module", loop_scope=LOOP)
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path_factory.mktemp("openapi")) as running:
        yield running


async def test_schemathesis_finds_nothing(stack: Stack, tmp_path: Path) -> None:
    st = Path(sys.executable).parent / "schemathesis"
    if not st.exists():
        pytest.fail("schemathesis is not installed: run `make test` to bootstrap .venv")
    proc = await asyncio.create_subprocess_exec(
        str(st),
        "--no-color",
        "--config-file",
        str(CONFIG),
        "run",
        f"{stack.api.base_url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        EXAMPLES,
        "--seed",
        "20261124",
        "-H",
        f"Authorization: Bearer {stack.tokens['ops.admin']}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )
    output, _ = await proc.communicate()
    text = output.decode(errors="replace")
    assert proc.returncode == 0, text[-6000:]
