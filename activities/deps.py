"""What activities need at run time: settings, the store's engine and the connectors."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from connectors.registry import Connectors
from infra.settings import Settings
from store.db import get_engine


@dataclass
class ActivityDeps:
    settings: Settings
    engine: Engine
    connectors: Connectors

    @classmethod
    def from_settings(cls, settings: Settings) -> ActivityDeps:
        return cls(
            settings=settings, engine=get_engine(settings.db_url), connectors=Connectors(settings)
        )
