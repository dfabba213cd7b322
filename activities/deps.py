"""What activities need at run time: settings, the store's engine and the connectors."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from connectors.registry import Connectors
from infra.settings import Settings
from store.db import get_engine
from store.migrate import require_head


@dataclass
class ActivityDeps:
    settings: Settings
    engine: Engine
    connectors: Connectors

    @classmethod
    def from_settings(cls, settings: Settings) -> ActivityDeps:
        """The worker's dependencies; refuses (StoreNotAtHeadError, naming `changeflow store
        upgrade`) a store whose schema is not at head: a worker never creates tables."""
        engine = get_engine(settings.db_url)
        require_head(engine)
        return cls(settings=settings, engine=engine, connectors=Connectors(settings))
