"""deploy/: the team's Dagster instance (deploy/dagster.yaml) on a real PostgreSQL server, opened
the way `python -m pipeline run` opens one, and the example settings beside it."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
import yaml
from dotenv import dotenv_values

from pipeline.definitions import MAINTENANCE_JOB, build_definitions
from pipeline.preflight import open_instance
from pipeline.settings import Settings, SettingsError
from pipeline.warehouse.store import is_s3

DEPLOY = Path(__file__).parents[1] / "deploy"


def env_names(config: object) -> set[str]:
    """The variables a Dagster config reads through `env:`."""
    if isinstance(config, dict):
        return (
            {config["env"]}
            if set(config) == {"env"}
            else set().union(*map(env_names, config.values()))
        )
    return set()


@pytest.fixture
def team_home(postgres, tmp_path, monkeypatch) -> tuple[Path, dict[str, str]]:
    """A DAGSTER_HOME holding deploy/dagster.yaml, its DAGSTER_PG_* variables set to a fresh
    database of the test server; the database's connection parameters."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    words = postgres.new_database().removeprefix("postgres:").split()
    database = dict(word.split("=", 1) for word in words) | {"password": postgres.password}
    variables = {
        "DAGSTER_PG_HOST": database["host"],
        "DAGSTER_PG_PORT": database["port"],
        "DAGSTER_PG_DB": database["dbname"],
        "DAGSTER_PG_USER": database["user"],
        "DAGSTER_PG_PASSWORD": postgres.password,
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return home, database


def test_a_run_on_the_team_instance_is_recorded_in_postgres(team_home, tmp_path):
    home, database = team_home
    env = {"PIPELINE_WAREHOUSE": str(tmp_path / "warehouse.sqlite"), "DAGSTER_HOME": str(home)}
    job = build_definitions(env).resolve_job_def(MAINTENANCE_JOB)

    with open_instance(home) as instance:
        storages = [
            type(s).__name__
            for s in (instance.run_storage, instance.event_log_storage, instance.schedule_storage)
        ]
        result = job.execute_in_process(instance=instance)
        assert instance.get_run_by_id(result.run_id).is_success

    assert result.success
    assert storages == ["PostgresRunStorage", "PostgresEventLogStorage", "PostgresScheduleStorage"]
    with psycopg2.connect(**database) as con, con.cursor() as cur:
        cur.execute("SELECT status, run_body FROM runs WHERE run_id = %s", [result.run_id])
        [(status, body)] = cur.fetchall()
        cur.execute(
            "SELECT dagster_event_type, event FROM event_logs WHERE run_id = %s", [result.run_id]
        )
        events = cur.fetchall()
    assert status == "SUCCESS"
    stored = {kind for kind, _ in events}
    kinds = (
        dg.DagsterEventType.RUN_START,
        dg.DagsterEventType.STEP_OUTPUT,
        dg.DagsterEventType.RUN_SUCCESS,
    )
    assert {kind.value for kind in kinds} <= stored
    password = database["password"]
    assert password not in body and not any(password in text for _, text in events)
    assert password not in (home / "dagster.yaml").read_text()


def test_a_variable_left_unset_is_one_line_naming_it(team_home, monkeypatch):
    home, _ = team_home
    monkeypatch.delenv("DAGSTER_PG_HOST")

    with pytest.raises(SettingsError) as error:
        open_instance(home)

    assert "DAGSTER_PG_HOST" in str(error.value) and "\n" not in str(error.value)


def test_the_example_settings_are_a_lake_on_postgres_and_s3_and_feed_the_instance():
    example = {k: v for k, v in dotenv_values(DEPLOY / ".env.example").items() if v}
    wh = Settings.from_env(example).lake()
    assert wh.is_postgres and is_s3(wh.data_path)
    instance_config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    assert env_names(instance_config) <= set(dotenv_values(DEPLOY / ".env.example"))
