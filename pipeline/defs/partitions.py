"""Daily UTC partitions of the usage facts, and the date range a run covers."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from pipeline import clock

PARTITION_RANGE_START = "dagster/asset_partition_range_start"
PARTITION_RANGE_END = "dagster/asset_partition_range_end"


def daily_partitions(start: date) -> dg.DailyPartitionsDefinition:
    # The newest partition is yesterday, the last complete UTC day, by the pipeline's clock:
    # Dagster counts from its own, so a pinned PIPELINE_TODAY shifts the end by as many days, in
    # every process that builds these definitions (a step subprocess of `dagster job execute`).
    return dg.DailyPartitionsDefinition(
        start_date=start.isoformat(), timezone="UTC", end_offset=clock.days_ahead()
    )


def range_tags(start: date, end: date) -> dict[str, str]:
    """Run tags asking for one run over the inclusive day range (single-run backfill)."""
    return {PARTITION_RANGE_START: start.isoformat(), PARTITION_RANGE_END: end.isoformat()}


def days_of(window: dg.TimeWindow) -> tuple[date, date]:
    """The inclusive first and last UTC day of a partition time window (its end is exclusive)."""
    return window.start.date(), (window.end - timedelta(days=1)).date()


def run_day_range(tags: dict[str, str]) -> tuple[date, date] | None:
    """The inclusive day range a run was asked for, from its tags; None for an unpartitioned run."""
    if PARTITION_RANGE_START in tags:
        return date.fromisoformat(tags[PARTITION_RANGE_START]), date.fromisoformat(
            tags[PARTITION_RANGE_END]
        )
    if "dagster/partition" in tags:
        day = date.fromisoformat(tags["dagster/partition"])
        return day, day
    return None
