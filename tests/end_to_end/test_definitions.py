"""The Dagster definitions as `dagster dev` and the daemon see them."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from end_to_end.expected import count_rows
from end_to_end.stack import YESTERDAY

from pipeline.definitions import REFRESH_JOB, REPLAY_SELECTION, build_definitions
from pipeline.defs.partitions import PARTITION_RANGE_END, PARTITION_RANGE_START
from pipeline.settings import SettingsError, pipeline_settings

ROOT = Path(__file__).resolve().parents[2]
DAGSTER = ROOT / ".venv" / "bin" / "dagster"


def test_dagster_cli_validates_the_definitions_without_credentials(tmp_path: Path) -> None:
    # An empty DAGSTER_HOME and no D360_* settings: the UI must still open.
    result = subprocess.run(
        [str(DAGSTER), "definitions", "validate", "-m", "pipeline.definitions"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "DAGSTER_HOME": str(tmp_path), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Validation successful" in result.stdout + result.stderr


def test_refresh_job_holds_every_asset_and_check() -> None:
    defs = build_definitions({"PIPELINE_START_DATE": "2024-01-01"})
    job = defs.resolve_job_def(REFRESH_JOB)
    keys = {key.to_user_string() for key in job.asset_layer.executable_asset_keys}
    assert keys == {
        "clients",
        "channels",
        "partner_balance",
        "usage_daily",
        "usage_by_category",
        "reporting_views",
        "parquet_exports",
        "client_markups",
        "finance_settings",
        "finance_report",
    }
    checks = {key.name for key in job.asset_layer.asset_graph.asset_check_keys}
    assert {
        "every_client_and_day_fetched",
        "categories_add_up_to_totals",
        "channels_add_up_to_client_days",
        "channel_usage_is_attributed",
        "latest_partition_is_fresh",
        "months_reconcile",
        "usage_keys_are_unique",
        "usage_amounts_are_not_negative",
    } == checks


def test_one_job_refreshes_every_asset_but_the_month_close_and_replay_follows_usage() -> None:
    defs = build_definitions({"PIPELINE_START_DATE": "2024-01-01"})
    graph = defs.resolve_asset_graph()
    in_job = defs.resolve_job_def(REFRESH_JOB).asset_layer.executable_asset_keys
    every = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {key.to_user_string() for key in in_job} == every - {"month_close"}
    assert defs.resolve_schedule_def("daily_refresh").job_name == REFRESH_JOB
    after_usage = {key.to_user_string() for key in REPLAY_SELECTION.resolve(graph)}
    assert {"reporting_views", "parquet_exports", "finance_report"} <= after_usage
    assert not after_usage & {"usage_daily", "usage_by_category", "clients", "partner_balance"}


def test_with_the_run_report_off_no_job_draws_the_report_but_it_stays_an_asset() -> None:
    defs = build_definitions({"PIPELINE_START_DATE": "2024-01-01", "PIPELINE_RUN_REPORT": "off"})
    keys = defs.resolve_job_def(REFRESH_JOB).asset_layer.executable_asset_keys
    assert dg.AssetKey("finance_report") not in keys
    assert dg.AssetKey("parquet_exports") in keys
    assert defs.resolve_assets_def("finance_report").key == dg.AssetKey("finance_report")


@pytest.mark.parametrize(
    ("refetch", "start_date", "expected_start"),
    [
        ("3", "2024-01-01", "2026-03-06"),
        ("0", "2024-01-01", "2026-03-09"),
        ("3", "2026-03-08", "2026-03-08"),  # never before the first partition
    ],
)
def test_daily_schedule_asks_for_yesterday_and_the_refetch_window(
    refetch: str, start_date: str, expected_start: str
) -> None:
    defs = build_definitions({"PIPELINE_START_DATE": start_date, "PIPELINE_REFETCH_DAYS": refetch})
    schedule = defs.resolve_schedule_def("daily_refresh")
    tick = datetime(2026, 3, 10, 2, 30, tzinfo=UTC)
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
        request = schedule.evaluate_tick(context).run_requests[0]

    assert request.tags["dagster/asset_partition_range_start"] == expected_start
    assert request.tags["dagster/asset_partition_range_end"] == "2026-03-09"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"PIPELINE_START_DATE": "2024-1-1"}, "PIPELINE_START_DATE"),
        ({"PIPELINE_REFETCH_DAYS": "-1"}, "PIPELINE_REFETCH_DAYS"),
        ({"PIPELINE_REFETCH_DAYS": "three"}, "PIPELINE_REFETCH_DAYS"),
        ({"PIPELINE_WAREHOUSE": "/"}, "PIPELINE_WAREHOUSE"),
        ({"DAGSTER_HOME": "/etc/hostname"}, "DAGSTER_HOME"),
    ],
)
def test_a_bad_setting_names_its_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable) as raised:
        pipeline_settings(env)
    assert "\n" not in str(raised.value)


def test_defaults_follow_the_contract() -> None:
    settings = pipeline_settings({})
    assert settings.warehouse == "data/warehouse.sqlite"
    assert settings.export_dir == "data/export"
    assert settings.start_date == date(2023, 1, 1)
    assert settings.refetch_days == 3


@pytest.mark.timeout(600)  # a dozen processes each importing Dagster, beside the other workers
def test_dagster_cli_runs_the_refresh_job_step_by_step_in_subprocesses(stack, tmp_path) -> None:
    # What `dagster dev` and the schedule do: the multiprocess executor, each step loading the
    # definitions afresh from the environment, under the project's dagster.yaml (pools).
    (tmp_path / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    start, end = YESTERDAY - timedelta(days=9), YESTERDAY - timedelta(days=7)
    tags = f'{{"{PARTITION_RANGE_START}": "{start}", "{PARTITION_RANGE_END}": "{end}"}}'
    env = {
        **stack.env,
        "PATH": "/usr/bin:/bin",
        "DAGSTER_HOME": str(tmp_path),
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        [
            str(DAGSTER),
            "job",
            "execute",
            "-m",
            "pipeline.definitions",
            "-j",
            REFRESH_JOB,
            "--tags",
            tags,
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert "RUN_SUCCESS" in result.stdout + result.stderr
    covered = count_rows(stack.warehouse, "select count(*) from usage_coverage")
    assert covered == 3 * len(stack.sim.client_ids())
    assert (stack.export_dir / "usage_daily" / f"usage_month={end:%Y-%m}").is_dir()
