"""The store's schema, versioned by Alembic (store/migrations/). Upgrading is one explicit step:
`changeflow store upgrade` (and `changeflow up` before it starts anything) runs `upgrade(url)`;
every other process only checks, at start, that the store is at head (`require_head`), and
refuses to start otherwise, naming the command.

Alembic is configured here, in code: no alembic.ini is needed at run time. For writing the next
migration, `alembic -c store/migrations/alembic.ini revision --autogenerate -m "..."` uses the
same environment (docs/operations.md, "Store migrations")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect, make_url, text
from sqlalchemy.engine import Connection, Engine

from store.db import get_engine, normalize_url

MIGRATIONS = Path(__file__).with_name("migrations")
UPGRADE_COMMAND = "changeflow store upgrade"
_LOCK_KEY = 0x636866  # PostgreSQL advisory lock: one upgrade at a time ("chf")


class StoreNotAtHeadError(RuntimeError):
    """The store's schema is not the one this changeflow needs: run `changeflow store upgrade`."""


@dataclass(frozen=True)
class Upgrade:
    """What `upgrade` found and left: revisions before and after (None: no schema yet)."""

    url: str
    before: str | None
    after: str | None
    adopted: bool  # a store made before migrations (tables, no alembic_version)

    def summary(self) -> str:
        if self.adopted:
            return (
                f"the store at {self.url} was made before migrations: kept its rows and brought "
                f"it to head ({self.after})"
            )
        if self.before == self.after:
            return f"the store at {self.url} is at head ({self.after}): nothing to do"
        return f"upgraded the store at {self.url} from {self.before or 'empty'} to {self.after}"


def config(url: str | None = None) -> Config:
    """Alembic's configuration for the store, without an ini file. With `url`, the database;
    otherwise env.py takes the settings' (CHANGEFLOW_DATABASE_URL, the home's SQLite)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def target_metadata() -> MetaData:
    """Every table of the store (store/tables.py, store/thread/schema.py): what the models hold
    and the newest migration must create. Only the store's: other SQLModel tables a process
    imports (the simulator's) are not the store's."""
    from sqlmodel import SQLModel

    import store.tables
    import store.thread.schema  # noqa: F401  (registers the thread's tables)

    modules = (store.tables.__name__, store.thread.schema.__name__)
    names = {
        mapper.class_.__table__.name
        for mapper in SQLModel._sa_registry.mappers  # type: ignore[attr-defined]
        if mapper.class_.__module__ in modules
    }
    metadata = MetaData()
    for table in SQLModel.metadata.sorted_tables:
        if table.name in names:
            table.to_metadata(metadata)
    return metadata


def head() -> str:
    """The newest revision in store/migrations/versions/."""
    heads = ScriptDirectory.from_config(config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the store's migrations have {len(heads)} heads: {heads}; merge them")
    return heads[0]


def current(connection: Connection) -> str | None:
    """The store's revision (None: no alembic_version, i.e. empty or made before migrations)."""
    return MigrationContext.configure(connection).get_current_revision()


def _shown(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _engine(target: str | Engine) -> Engine:
    return target if isinstance(target, Engine) else get_engine(target)


def upgrade(target: str | Engine, revision: str = "head") -> Upgrade:
    """Bring the store at `target` (a URL or an engine) to `revision`, in one transaction where
    the database allows (PostgreSQL). Idempotent. A store made before migrations (the tables,
    no alembic_version) keeps its rows: the baseline adds only what it lacks."""
    engine = _engine(target)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        before = current(connection)
        adopted = before is None and bool(
            set(inspect(connection).get_table_names()) & set(target_metadata().tables)
        )
        cfg = config(engine.url.render_as_string(hide_password=False))
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
        after = current(connection)
    return Upgrade(url=_shown(engine), before=before, after=after, adopted=adopted)


def require_head(target: str | Engine) -> None:
    """Refuse to go on (StoreNotAtHeadError, naming the command) unless the store is at head:
    a process never creates or alters tables itself."""
    engine = _engine(target)
    wanted = head()
    with engine.connect() as connection:
        found = current(connection)
    if found == wanted:
        return
    where = f"the store at {_shown(engine)}"
    if found is None:
        state = "has no schema yet (or was made before migrations)"
    else:
        state = f"is at revision {found}, not {wanted}"
    raise StoreNotAtHeadError(f"{where} {state}: run `{UPGRADE_COMMAND}` first")


def differences(target: str | Engine) -> list[object]:
    """What Alembic's autogenerate finds between the store and the models (empty: they match)."""
    engine = _engine(target)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, target_metadata()))


def shown_url(url: str) -> str:
    """A database URL as printed: without its password."""
    return make_url(normalize_url(url)).render_as_string(hide_password=True)
