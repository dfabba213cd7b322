"""The connector tests' shared fixture: Tryton's template database, made once per session."""

from __future__ import annotations

import pytest

from connectors.tryton.server import TrytonServer
from tests.support.tryton import PASSWORD


@pytest.fixture(scope="session")
def tryton_template(tmp_path_factory: pytest.TempPathFactory) -> TrytonServer:
    """The database with Tryton's modules installed, made once (about 25 s)."""
    template = TrytonServer(tmp_path_factory.mktemp("tryton-template"), 0, database="template")
    template.create(PASSWORD)
    return template
