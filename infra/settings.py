"""Configuration: one TOML file (`changeflow.toml`, path in CHANGEFLOW_CONFIG), the environment
over it, read by pydantic-settings.

Every field is `CHANGEFLOW_<FIELD>` in the environment (CHANGEFLOW_DATABASE_URL, ...); nested
sections take `__` (CHANGEFLOW_APPROVALS__EXPIRE_AFTER_DAYS=10, CHANGEFLOW_PLM__URL=...); the
Temporal connection also takes temporalio's own TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE; one
plant's system, CHANGEFLOW_{SYSTEM}_{PLANT}="<kind> <url>". The file's keys are the fields',
under `[changeflow]` or at its top level.

`Settings` itself is a plain model: constructed directly (as the tests do) it reads neither the
file nor the environment; `load_settings()` does. Secrets never live in the file: they come only
from the environment, read where they are used (infra/signing.py, the connectors).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from pydantic_settings import SettingsError as SourceError

from domain.approvals.policy import ApprovalPolicy, default_policy
from domain.change.errors import describe_validation_error
from domain.rollout.plan import LARGE_PLAN


class SystemEndpoint(BaseModel):
    kind: Literal["rest", "tryton"] = Field(
        default="rest",
        description="Connector kind: 'rest' (the reference, the simulator's) or 'tryton' (an ERP "
        "on Tryton over JSON-RPC; url: http://host:port/<database>/).",
    )
    url: str


class PlantSettings(BaseModel):
    code: str
    name: str = ""
    erp: SystemEndpoint | None = None
    mes: SystemEndpoint | None = None
    qms: SystemEndpoint | None = None


class Settings(BaseModel):
    home: Path = Path(".changeflow")
    database_url: str | None = None
    simulator_url: str = "http://127.0.0.1:8100"
    api_url: str = "http://127.0.0.1:8000"
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "changeflow"
    ui_url: str = "http://localhost:8233"
    token_ttl_days: int = Field(default=90, ge=0, description="API tokens expire; 0: never.")
    temporal_retention_days: int | None = Field(
        default=None,
        ge=1,
        description="Set the namespace's retention of closed workflows (None: leave Temporal's "
        "setting alone). Audit records never expire: they are in the store.",
    )
    thread_fresh_seconds: float = Field(
        default=60,
        ge=0,
        description="A change assessed within this long of the last sync uses the thread as is "
        "(0: always sync first).",
    )
    large_plan: int = Field(
        default=LARGE_PLAN,
        ge=1,
        description="A plan with more tasks than this stays in the store and runs in batches.",
    )
    worker_max_cached_workflows: int = Field(
        default=1000,
        ge=0,
        description="Workflows a worker keeps in memory between tasks (Temporal's sticky cache); "
        "a change evicted from it is replayed from history on its next task.",
    )
    worker_max_concurrent_activities: int = Field(
        default=100, ge=1, description="Activities one worker process runs at once."
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="The proxies whose X-Forwarded-Proto and X-Forwarded-For the API believes "
        "(IPs or networks, comma-separated, or *; as uvicorn's --forwarded-allow-ips): through "
        "them an https request gets a Secure session cookie and throttles count the client.",
    )
    secure_cookies: bool = Field(
        default=False, description="The pages' session cookie is always Secure (https only)."
    )
    throttle_storage: str = Field(
        default="memory://",
        description="Where sign-in and signing throttles count failures (a `limits` storage "
        "URI; redis://host:6379 to share them between API processes).",
    )
    approvals: ApprovalPolicy = Field(
        default=default_policy(),  # a default, not a factory: nested keys update it in part
        description="[approvals] rules, groups and deadlines.",
    )
    plm: SystemEndpoint | None = None
    plants: list[PlantSettings] = Field(
        default_factory=lambda: [
            PlantSettings(code="DET", name="Detroit Assembly"),
            PlantSettings(code="MTY", name="Monterrey Drives"),
            PlantSettings(code="BRN", name="Brno Compact Drives"),
        ]
    )

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'changeflow.db'}"

    def plant_codes(self) -> list[str]:
        return [p.code for p in self.plants]

    def plant(self, code: str) -> PlantSettings:
        for plant in self.plants:
            if plant.code == code:
                return plant
        raise KeyError(f"plant {code} is not configured (known: {', '.join(self.plant_codes())})")

    def plm_endpoint(self) -> SystemEndpoint:
        return self.plm or SystemEndpoint(url=f"{self.simulator_url}/plm")

    def plant_endpoint(self, code: str, system: str) -> SystemEndpoint:
        configured = getattr(self.plant(code), system)
        return configured or SystemEndpoint(url=f"{self.simulator_url}/{system}/{code}")


ENV_PREFIX = "CHANGEFLOW_"
NESTED = "__"  # CHANGEFLOW_APPROVALS__EXPIRE_AFTER_DAYS
TEMPORAL_VARS = {"TEMPORAL_ADDRESS": "temporal_address", "TEMPORAL_NAMESPACE": "temporal_namespace"}
PLANT_SYSTEM_VAR = "CHANGEFLOW_{system}_{plant}"  # e.g. CHANGEFLOW_ERP_MTY="tryton http://..."


class SettingsError(ValueError):
    pass


# what load_settings reads from: the environment (a mapping) and the TOML file (or None)
_SOURCES: ContextVar[tuple[Mapping[str, str], Path | None]] = ContextVar("settings_sources")


class _Environment(EnvSettingsSource):
    """CHANGEFLOW_* from the mapping load_settings was given (os.environ by default)."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._env = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {
            (name if self.case_sensitive else name.lower()): value
            for name, value in self._env.items()
            if value or not self.env_ignore_empty
        }


class _TemporalEnvironment(PydanticBaseSettingsSource):
    """TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE: temporalio's own names, without the prefix."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self._env = env

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything is in __call__

    def __call__(self) -> dict[str, Any]:
        return {field: self._env[var] for var, field in TEMPORAL_VARS.items() if self._env.get(var)}


class _TomlFile(TomlConfigSettingsSource):
    """The TOML file, its keys under `[changeflow]` or at the top level; a file that is not
    TOML is a SettingsError naming it."""

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        try:
            data = super()._read_file(file_path)
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {file_path} is not valid TOML: {exc}") from exc
        return data.get("changeflow", data)


class _Loaded(Settings, BaseSettings):
    """Settings from the file and the environment (pydantic-settings); load_settings returns
    them as a plain Settings."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED,
        env_ignore_empty=True,  # CHANGEFLOW_HOME= is unset, as before
        nested_model_default_partial_update=True,  # one nested key keeps the rest's defaults
        extra="ignore",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        env, path = _SOURCES.get()
        sources: list[PydanticBaseSettingsSource] = [
            init_settings,
            _Environment(settings_cls, env),  # the environment over the file
            _TemporalEnvironment(settings_cls, env),
        ]
        if path is not None:
            sources.append(_TomlFile(settings_cls, toml_file=path))
        return tuple(sources)


def _plant_system_overrides(settings: Settings, env: Mapping[str, str]) -> Settings:
    """`CHANGEFLOW_ERP_MTY="tryton http://127.0.0.1:8200/changeflow/"` points one plant's
    system at another connector (how `changeflow up --erp MTY=tryton` tells its children)."""
    plants, changed = [], False
    for plant in settings.plants:
        updates: dict[str, SystemEndpoint] = {}
        for system in ("erp", "mes", "qms"):
            var = PLANT_SYSTEM_VAR.format(system=system.upper(), plant=plant.code)
            value = env.get(var)
            if not value:
                continue
            kind, _, url = value.partition(" ")
            if not url.strip():
                raise SettingsError(f"{var} must be '<kind> <url>', got {value!r}")
            try:
                updates[system] = SystemEndpoint(kind=kind, url=url.strip())  # type: ignore[arg-type]
            except ValidationError as exc:
                raise SettingsError(f"{var}: " + "; ".join(describe_validation_error(exc))) from exc
        plants.append(plant.model_copy(update=updates) if updates else plant)
        changed = changed or bool(updates)
    return settings.model_copy(update={"plants": plants}) if changed else settings


def _where(loc: tuple[Any, ...], env: Mapping[str, str]) -> str:
    """The environment variable a bad value came from, if it came from one (else the file)."""
    names = [str(part) for part in loc if isinstance(part, str)]
    candidates = [ENV_PREFIX + NESTED.join(names[:n]).upper() for n in range(len(names), 0, -1)]
    candidates += [var for var, field in TEMPORAL_VARS.items() if names[:1] == [field]]
    return next((f" (from {var})" for var in candidates if env.get(var)), "")


def _problems(exc: ValidationError, env: Mapping[str, str]) -> list[str]:
    lines = describe_validation_error(exc)
    return [line + _where(p["loc"], env) for line, p in zip(lines, exc.errors(), strict=True)]


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """The TOML file (`path`, else CHANGEFLOW_CONFIG's, else ./changeflow.toml if there), then
    the environment (`env`, else os.environ) over it. A bad file or value: SettingsError naming
    the key and where it came from."""
    env = os.environ if env is None else env
    path = path or (Path(env["CHANGEFLOW_CONFIG"]) if env.get("CHANGEFLOW_CONFIG") else None)
    if path is None and Path("changeflow.toml").exists():
        path = Path("changeflow.toml")
    if path is not None and not path.is_file():
        raise SettingsError(f"config file {path} does not exist")
    token = _SOURCES.set((env, path))
    try:
        loaded = _Loaded()
    except ValidationError as exc:
        raise SettingsError(
            f"config {path or '(defaults)'}: " + "; ".join(_problems(exc, env))
        ) from exc
    except SourceError as exc:  # e.g. a complex value in the environment that is not JSON
        raise SettingsError(f"config {path or '(defaults)'}: {exc}") from exc
    finally:
        _SOURCES.reset(token)
    settings = Settings.model_construct(
        _fields_set=loaded.model_fields_set, **{name: getattr(loaded, name) for name in FIELDS}
    )
    return _plant_system_overrides(settings, env)


FIELDS = tuple(Settings.model_fields)
