"""The maintenance job as Dagster runs it: the definitions built from settings, the pipeline's
clock (PIPELINE_TODAY) for "now", the retention from PIPELINE_SNAPSHOT_RETENTION_DAYS, what it did
as the op's metadata, and a weekly schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
from warehouse.lake_history import (
    build_history,
    contents,
    folder_files,
    snapshot_ids,
    snapshot_time,
)

from pipeline.definitions import MAINTENANCE_JOB, build_definitions
from pipeline.warehouse import Warehouse


def stored(wh: Warehouse) -> tuple[int, int]:
    files = folder_files(wh)
    return len(files), sum(files.values())


def run_maintenance(env: dict[str, str]) -> tuple[dg.ExecuteInProcessResult, dict]:
    job = build_definitions(env).resolve_job_def(MAINTENANCE_JOB)
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance)
    [output] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = {k: v.value for k, v in output.event_specific_data.metadata.items()}
    return result, metadata


def test_the_job_maintains_the_lake_with_the_settings_retention(tmp_path, monkeypatch):
    wh = Warehouse(tmp_path / "warehouse.sqlite")
    history = build_history(wh, refreshes=2)
    latest, stored_before = contents(wh), stored(wh)
    # Ten days after the last commit, with a retention of one: everything older goes but the
    # snapshot July's statements record, and the files freed have waited out their grace.
    last = snapshot_time(wh, snapshot_ids(wh)[-1][0])
    monkeypatch.setenv("PIPELINE_TODAY", (last + timedelta(days=10)).date().isoformat())
    env = {"PIPELINE_WAREHOUSE": str(wh.path), "PIPELINE_SNAPSHOT_RETENTION_DAYS": "1"}

    result, metadata = run_maintenance(env)

    assert result.success
    kept = [s for (s,) in snapshot_ids(wh)]
    assert kept == [history.statement_snapshot, wh.latest_snapshot()]
    assert contents(wh) == latest
    # Every snapshot but the statement's and the latest (ids run from 0 without gaps).
    assert metadata["snapshots_expired"] == kept[-1] - 1
    assert metadata["snapshots_kept"] == 2 and metadata["statement_snapshots_kept"] == 1
    assert metadata["retention_days"] == 1
    assert (metadata["files_before"], metadata["bytes_before"]) == stored_before
    assert (metadata["files_after"], metadata["bytes_after"]) == stored(wh)
    assert metadata["files_merged"] > 0 and metadata["files_deleted"] > 0
    readable_from = datetime.fromtimestamp(metadata["readable_from"], UTC)
    assert readable_from.date() == last.date() + timedelta(days=9)
    # The compaction's snapshot is tagged with the run, like every commit of a run.
    with wh.read() as con:
        [(message, extra)] = con.execute(
            "SELECT commit_message, commit_extra_info FROM warehouse.snapshots() "
            "WHERE snapshot_id = ?",
            [kept[-1]],
        ).fetchall()
    assert message.startswith("maintenance: ") and result.run_id in extra


def test_before_the_first_load_the_job_has_nothing_to_do(tmp_path):
    catalog = tmp_path / "warehouse.sqlite"

    result, metadata = run_maintenance({"PIPELINE_WAREHOUSE": str(catalog)})

    assert result.success
    assert metadata["warehouse"].startswith("none yet at ")
    assert not catalog.exists()


def test_the_schedule_runs_the_job_every_sunday_morning(tmp_path):
    defs = build_definitions({"PIPELINE_WAREHOUSE": str(tmp_path / "warehouse.sqlite")})
    schedule = defs.resolve_schedule_def("weekly_maintenance")
    sunday = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=sunday)
        [request] = schedule.evaluate_tick(context).run_requests
    assert schedule.job_name == MAINTENANCE_JOB
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert request.job_name in (None, MAINTENANCE_JOB)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 4 * * 0", "UTC")
