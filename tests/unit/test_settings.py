"""Settings from the TOML file and the environment (pydantic-settings): the file alone, the
environment over it, nested keys, every variable name that worked before, and bad values named
with where they came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.settings import Settings, SettingsError, load_settings

FILE = """
[changeflow]
home = "/srv/changeflow"
database_url = "postgresql://cf@db/changeflow"
task_queue = "from-file"
temporal_address = "temporal.file:7233"
token_ttl_days = 30

[changeflow.plm]
kind = "rest"
url = "http://plm.file/plm"

[[changeflow.plants]]
code = "MTY"
name = "Monterrey Drives"
erp = { kind = "tryton", url = "http://erp.file/mty/" }

[[changeflow.plants]]
code = "DET"

[changeflow.approvals]
expire_after_days = 12

[[changeflow.approvals.rules]]
name = "engineering"
role = "engineering"
when = "always"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "changeflow.toml"
    path.write_text(FILE)
    return path


def test_the_file_alone(config: Path) -> None:
    settings = load_settings(config, env={})
    assert type(settings) is Settings
    assert settings.home == Path("/srv/changeflow")
    assert settings.db_url == "postgresql://cf@db/changeflow"
    assert (settings.task_queue, settings.temporal_address) == ("from-file", "temporal.file:7233")
    assert settings.token_ttl_days == 30
    assert settings.plm_endpoint().url == "http://plm.file/plm"
    assert settings.plant_codes() == ["MTY", "DET"]
    assert settings.plant_endpoint("MTY", "erp").kind == "tryton"
    assert settings.approvals.expire_after_days == 12
    assert [r.name for r in settings.approvals.rules] == ["engineering"]
    assert settings.simulator_url == Settings().simulator_url  # what the file leaves out


def test_a_file_without_the_changeflow_table_and_the_file_named_by_changeflow_config(
    tmp_path: Path,
) -> None:
    path = tmp_path / "other.toml"
    path.write_text('task_queue = "top-level"\n')
    assert load_settings(env={"CHANGEFLOW_CONFIG": str(path)}).task_queue == "top-level"


def test_the_environment_over_the_file(config: Path) -> None:
    env = {
        "CHANGEFLOW_HOME": "/var/lib/changeflow",
        "CHANGEFLOW_DATABASE_URL": "postgresql://cf@other/changeflow",
        "CHANGEFLOW_SIMULATOR_URL": "http://sim:8100",
        "CHANGEFLOW_API_URL": "http://api:8000",
        "CHANGEFLOW_TASK_QUEUE": "from-env",
        "CHANGEFLOW_UI_URL": "http://ui:8233",
        "TEMPORAL_ADDRESS": "temporal.env:7233",
        "TEMPORAL_NAMESPACE": "plants",
        "CHANGEFLOW_TOKEN_TTL_DAYS": "0",
        "CHANGEFLOW_LARGE_PLAN": "50",
        "CHANGEFLOW_THREAD_FRESH_SECONDS": "2.5",
        "CHANGEFLOW_TEMPORAL_RETENTION_DAYS": "30",
        "CHANGEFLOW_WORKER_MAX_CACHED_WORKFLOWS": "10",
        "CHANGEFLOW_WORKER_MAX_CONCURRENT_ACTIVITIES": "4",
        "CHANGEFLOW_ERP_DET": "tryton http://erp.env/det/",
        "CHANGEFLOW_QMS_MTY": "rest http://qms.env/mty",
        "CHANGEFLOW_API_TOKEN_UNRELATED": "ignored",  # not a setting: no error
    }
    settings = load_settings(config, env=env)
    assert settings.home == Path("/var/lib/changeflow")
    assert settings.db_url == "postgresql://cf@other/changeflow"
    assert (settings.simulator_url, settings.api_url, settings.ui_url) == (
        "http://sim:8100",
        "http://api:8000",
        "http://ui:8233",
    )
    assert (settings.task_queue, settings.temporal_address) == ("from-env", "temporal.env:7233")
    assert settings.temporal_namespace == "plants"
    assert (settings.token_ttl_days, settings.large_plan) == (0, 50)
    assert settings.thread_fresh_seconds == 2.5 and settings.temporal_retention_days == 30
    assert settings.worker_max_cached_workflows == 10
    assert settings.worker_max_concurrent_activities == 4
    assert settings.plant_endpoint("DET", "erp").url == "http://erp.env/det/"
    assert settings.plant_endpoint("MTY", "erp").url == "http://erp.file/mty/"  # the file's
    assert settings.plant_endpoint("MTY", "qms").url == "http://qms.env/mty"
    # an empty variable is no override
    assert load_settings(config, env={"CHANGEFLOW_TASK_QUEUE": ""}).task_queue == "from-file"
    # the prefixed name works for the Temporal connection too, and wins
    both = {"TEMPORAL_ADDRESS": "a:1", "CHANGEFLOW_TEMPORAL_ADDRESS": "b:2"}
    assert load_settings(config, env=both).temporal_address == "b:2"


def test_nested_keys_from_the_environment(config: Path) -> None:
    env = {
        "CHANGEFLOW_APPROVALS__EXPIRE_AFTER_DAYS": "3",
        "CHANGEFLOW_APPROVALS__REQUIRE_PASSWORD": "false",
        "CHANGEFLOW_PLM__URL": "http://plm.env/plm",
    }
    settings = load_settings(config, env=env)
    assert settings.approvals.expire_after_days == 3
    assert settings.approvals.require_password is False
    assert [r.name for r in settings.approvals.rules] == ["engineering"]  # the file's rules
    assert settings.plm_endpoint().url == "http://plm.env/plm"
    # without a file: one nested key keeps the other defaults (the default rules)
    alone = load_settings(env={"CHANGEFLOW_APPROVALS__EXPIRE_AFTER_DAYS": "3"})
    assert alone.approvals.expire_after_days == 3
    assert [r.name for r in alone.approvals.rules] == [r.name for r in Settings().approvals.rules]


def test_bad_values_are_named_with_where_they_came_from(config: Path, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"token_ttl_days: .* \(from CHANGEFLOW_TOKEN_TTL"):
        load_settings(config, env={"CHANGEFLOW_TOKEN_TTL_DAYS": "-1"})
    with pytest.raises(SettingsError, match=r"large_plan: .*integer.*CHANGEFLOW_LARGE_PLAN"):
        load_settings(env={"CHANGEFLOW_LARGE_PLAN": "many"})
    with pytest.raises(
        SettingsError,
        match=r"approvals.expire_after_days: .* \(from CHANGEFLOW_APPROVALS__EXPIRE_AFTER_DAYS\)",
    ):
        load_settings(env={"CHANGEFLOW_APPROVALS__EXPIRE_AFTER_DAYS": "-3"})
    with pytest.raises(SettingsError, match="CHANGEFLOW_ERP_MTY must be '<kind> <url>'"):
        load_settings(env={"CHANGEFLOW_ERP_MTY": "tryton"})
    with pytest.raises(SettingsError, match="CHANGEFLOW_ERP_MTY: kind: Input should be 'rest'"):
        load_settings(env={"CHANGEFLOW_ERP_MTY": "soap http://erp/"})
    bad = tmp_path / "bad.toml"
    bad.write_text("[changeflow]\nlarge_plan = 0\n")
    with pytest.raises(SettingsError, match=f"config {bad}: large_plan: .*greater than or equal"):
        load_settings(bad, env={})
    bad.write_text("[changeflow\n")
    with pytest.raises(SettingsError, match=f"config file {bad} is not valid TOML"):
        load_settings(bad, env={})
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(env={"CHANGEFLOW_CONFIG": str(tmp_path / "missing.toml")})


def test_settings_constructed_directly_read_neither_file_nor_environment(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHANGEFLOW_CONFIG", str(config))
    monkeypatch.setenv("CHANGEFLOW_TASK_QUEUE", "from-env")
    settings = Settings(home=Path("/tmp/x"), temporal_address="t:1")
    assert settings.task_queue == "changeflow" and settings.plant_codes() == ["DET", "MTY", "BRN"]
    assert load_settings().task_queue == "from-env"  # load_settings reads them
