"""The schedules: every day yesterday, plus the trailing days whose figures may still be revised;
every week the warehouse's maintenance."""

from datetime import date, timedelta

import dagster as dg

from pipeline.defs.partitions import range_tags


def daily_refresh_schedule(
    job_name: str, first_day: date, refetch_days: int
) -> dg.ScheduleDefinition:
    @dg.schedule(
        job_name=job_name,
        cron_schedule="30 2 * * *",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Every day at 02:30 UTC: yesterday and the {refetch_days} days "
        "before it (recent usage is an estimate the API may still revise).",
    )
    def daily_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        yesterday = context.scheduled_execution_time.date() - timedelta(days=1)
        start = max(first_day, yesterday - timedelta(days=refetch_days))
        return dg.RunRequest(run_key=yesterday.isoformat(), tags=range_tags(start, yesterday))

    return daily_refresh


def weekly_maintenance_schedule(job_name: str) -> dg.ScheduleDefinition:
    # Sunday 04:00 UTC: after that day's refresh (02:30) has usually committed; the two take
    # turns anyway, both writing in the pool "warehouse".
    return dg.ScheduleDefinition(
        name="weekly_maintenance",
        job_name=job_name,
        cron_schedule="0 4 * * 0",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every Sunday at 04:00 UTC: merge the warehouse's small files, expire "
        "snapshots past PIPELINE_SNAPSHOT_RETENTION_DAYS, delete the files no longer needed.",
    )
