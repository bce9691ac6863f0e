"""The Dagster definitions: `dg dev` in the project root loads `defs` from here, and
`python -m pipeline run` builds them with `build_definitions` and runs the refresh job.

Importing this module builds nothing: `defs` is loaded lazily, when Dagster asks for it.
"""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from pipeline.defs.checks import usage_checks
from pipeline.defs.directory import directory_assets
from pipeline.defs.finance import (
    MONTH_CLOSE,
    finance_inputs,
    finance_report,
    month_close_asset,
)
from pipeline.defs.maintenance import MAINTENANCE_JOB, maintenance_job
from pipeline.defs.partitions import daily_partitions, range_tags
from pipeline.defs.publish import parquet_exports, reporting_views
from pipeline.defs.resources import PipelineRuntime, Progress
from pipeline.defs.schedules import daily_refresh_schedule, weekly_maintenance_schedule
from pipeline.defs.usage import usage_asset
from pipeline.settings import Settings, read_environment

REFRESH_JOB = "warehouse_refresh"
"""The refresh of a day range: the CLI's `run` and the daily schedule both launch this job."""
USAGE_ASSETS = ("usage_daily", "usage_by_category")
# A replay rebuilds usage from the landing files outside Dagster (no API), then runs what
# follows usage in the same job: views, exports and the finance assets, not the partner balance.
REPLAY_SELECTION = dg.AssetSelection.assets(*USAGE_ASSETS).downstream() - dg.AssetSelection.assets(
    *USAGE_ASSETS
)
# With PIPELINE_RUN_REPORT=off the job leaves the report out; it stays an asset of its own.
REPORT = "finance_report"


# Runs launched by the UI or the schedule run each step in a process of its own. Forked from one
# server that has imported Dagster and this module, a step starts in a fraction of a second;
# spawned (Dagster's default), each step imports both again, about 3 CPU-seconds a step.
STEP_PROCESSES = dg.multiprocess_executor.configured({"start_method": {"forkserver": {}}})


def build_definitions(env: Mapping[str, str], progress: Progress | None = None) -> dg.Definitions:
    settings = Settings.from_env(env)
    partitions = daily_partitions(settings.start_date)
    # The month close has partitions of its own and is finance's call: no job runs it.
    left_out = {MONTH_CLOSE} if settings.run_report else {MONTH_CLOSE, REPORT}
    refresh = dg.define_asset_job(
        REFRESH_JOB,
        selection=dg.AssetSelection.all() - dg.AssetSelection.assets(*left_out),
        description="Clients, channels and usage for a day range, then views and exports.",
    )
    return dg.Definitions(
        assets=[
            *directory_assets,
            usage_asset(partitions),
            reporting_views,
            parquet_exports,
            finance_inputs,
            finance_report,
            month_close_asset(settings.start_date.replace(day=1)),
        ],
        asset_checks=usage_checks,
        jobs=[refresh, maintenance_job],
        schedules=[
            daily_refresh_schedule(REFRESH_JOB, settings.start_date, settings.refetch_days),
            weekly_maintenance_schedule(MAINTENANCE_JOB),
        ],
        resources={"runtime": PipelineRuntime.from_settings(settings, progress)},
        executor=STEP_PROCESSES,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """What `dg dev` and the daemon load: the definitions from the environment over ./.env."""
    return build_definitions(read_environment())


__all__ = [
    "MAINTENANCE_JOB",
    "REFRESH_JOB",
    "REPLAY_SELECTION",
    "Progress",
    "build_definitions",
    "defs",
    "range_tags",
]
