"""The store's tests run on SQLite and on a throwaway PostgreSQL, each module on a store of its
own made by the migrations, as `changeflow store upgrade` makes it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.support.db import migrated_engine
from tests.support.postgres import throwaway_postgres


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("store") / "changeflow.db"
        yield migrated_engine(f"sqlite:///{path}")
        return
    with throwaway_postgres() as url:
        eng = migrated_engine(url)
        yield eng
        eng.dispose()
