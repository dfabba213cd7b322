"""Configuration: one TOML file (`changeflow.toml`, path in CHANGEFLOW_CONFIG), env overrides.

Secrets never live in the file: they come only from the environment.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

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
    approvals: ApprovalPolicy = Field(
        default_factory=default_policy, description="[approvals] rules, groups and deadlines."
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


ENV_OVERRIDES = {
    "CHANGEFLOW_HOME": "home",
    "CHANGEFLOW_DATABASE_URL": "database_url",
    "CHANGEFLOW_SIMULATOR_URL": "simulator_url",
    "CHANGEFLOW_API_URL": "api_url",
    "CHANGEFLOW_TASK_QUEUE": "task_queue",
    "CHANGEFLOW_UI_URL": "ui_url",
    "TEMPORAL_ADDRESS": "temporal_address",
    "TEMPORAL_NAMESPACE": "temporal_namespace",
    "CHANGEFLOW_TOKEN_TTL_DAYS": "token_ttl_days",
    "CHANGEFLOW_LARGE_PLAN": "large_plan",
    "CHANGEFLOW_THREAD_FRESH_SECONDS": "thread_fresh_seconds",
    "CHANGEFLOW_TEMPORAL_RETENTION_DAYS": "temporal_retention_days",
    "CHANGEFLOW_WORKER_MAX_CACHED_WORKFLOWS": "worker_max_cached_workflows",
    "CHANGEFLOW_WORKER_MAX_CONCURRENT_ACTIVITIES": "worker_max_concurrent_activities",
}


class SettingsError(ValueError):
    pass


PLANT_SYSTEM_VAR = "CHANGEFLOW_{system}_{plant}"  # e.g. CHANGEFLOW_ERP_MTY="tryton http://..."


def _plant_system_overrides(data: dict, env: Mapping[str, str]) -> None:
    """`CHANGEFLOW_ERP_MTY="tryton http://127.0.0.1:8200/changeflow/"` points one plant's
    system at another connector (how `changeflow up --erp MTY=tryton` tells its children)."""
    plants = data.get("plants") or [p.model_dump() for p in Settings().plants]
    for plant in plants:
        for system in ("erp", "mes", "qms"):
            value = env.get(PLANT_SYSTEM_VAR.format(system=system.upper(), plant=plant["code"]))
            if not value:
                continue
            kind, _, url = value.partition(" ")
            if not url.strip():
                raise SettingsError(
                    f"{PLANT_SYSTEM_VAR.format(system=system.upper(), plant=plant['code'])} "
                    f"must be '<kind> <url>', got {value!r}"
                )
            plant[system] = {"kind": kind, "url": url.strip()}
            data["plants"] = plants


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (if any), then apply environment overrides."""
    env = os.environ if env is None else env
    path = path or (Path(env["CHANGEFLOW_CONFIG"]) if env.get("CHANGEFLOW_CONFIG") else None)
    if path is None and Path("changeflow.toml").exists():
        path = Path("changeflow.toml")
    data: dict = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError as exc:
            raise SettingsError(f"config file {path} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path} is not valid TOML: {exc}") from exc
        data = data.get("changeflow", data)
    for var, field in ENV_OVERRIDES.items():
        if env.get(var):
            data[field] = env[var]
    _plant_system_overrides(data, env)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(
            f"config {path or '(defaults)'}: " + "; ".join(describe_validation_error(exc))
        ) from exc
