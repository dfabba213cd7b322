"""End-to-end fixtures: ONE stack (dev server, simulator, in-process workers, HTTP API, the demo's
users) shared by every module here that runs with the default settings, started by the first
test that asks for `stack` and stopped after the last test of tests/e2e.

The stack's workers are tasks of the event loop they were started in, so every test here runs in
one loop for the whole package (LOOP); a module that needs its own stack (other settings, a
worker process to kill) overrides `stack` with a fixture of that loop scope:

    @pytest_asyncio.fixture(scope="module", loop_scope=LOOP)
    async def stack(tmp_path_factory): async with running_stack(tmp, ...) as s: yield s

Tests on the shared stack must not depend on each other: see tests/support/e2e_stack.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from pytest_asyncio import is_async_test

from tests.support.e2e_stack import Stack, running_stack

HERE = Path(__file__).parent
LOOP = "package"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every async test of tests/e2e runs in the package's loop (the shared stack's)."""
    in_package_loop = pytest.mark.asyncio(loop_scope=LOOP)
    for item in items:
        if is_async_test(item) and item.path.is_relative_to(HERE):
            item.add_marker(in_package_loop, append=False)


@pytest_asyncio.fixture(scope="package", loop_scope=LOOP)
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


@pytest.fixture(autouse=True)
def no_fault_left_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    """A fault a test injected into the simulator and did not use up ends with the test."""
    yield
    used = request.node.funcargs.get("stack")
    if isinstance(used, Stack):
        used.sim.delete("/sim/faults")
