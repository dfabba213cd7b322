"""A store for tests, made as production makes it: the migrations (`changeflow store upgrade`),
then the engine. No process creates tables by itself any more (store/migrate.py)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from store.db import get_engine
from store.migrate import upgrade


def migrated_engine(url: str) -> Engine:
    """The engine of the store at `url`, brought to head first (idempotent)."""
    upgrade(url)
    return get_engine(url)
