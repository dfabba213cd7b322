"""Test-wide setup: one signing key ring for the API and workers these tests run in-process, and
each test's layer as a marker, given by its folder (tests/README.md): `pytest -m unit` runs the
tests that start nothing, `pytest -m "not e2e and not browser"` everything but the whole stack."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.signatures.signing import Keyring
from infra import signing

TEST_SIGNING_KEY = "test-signing-key-not-secret-0123456789"
TEST_KEYRING = Keyring.from_secrets(TEST_SIGNING_KEY)
signing.install(TEST_KEYRING)

TESTS = Path(__file__).parent
# folder under tests/ -> its markers (registered in pyproject.toml, --strict-markers)
LAYERS = {
    "unit": ("unit",),
    "workflows": ("workflow",),
    "store": ("integration",),
    "connectors": ("integration",),
    "e2e": ("e2e",),
}
BROWSER = {Path("e2e", "test_pages.py")}  # these also drive a real browser


@pytest.hookimpl(tryfirst=True)  # before -m selects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not item.path.is_relative_to(TESTS):
            continue
        where = item.path.relative_to(TESTS)
        for marker in LAYERS.get(where.parts[0], ()):
            item.add_marker(marker)
        if where in BROWSER:
            item.add_marker("browser")
