"""Warehouse-wide checks of the usage facts, re-checkable at any time from the UI.

The range-dependent checks (coverage of a run's days, families adding up, channels) run inside the
usage asset, which knows the range it loaded. Keys and non-negative amounts, which DuckLake cannot
enforce as constraints, are blocking checks here: a failure stops what depends on usage_daily (the
views and exports) in the same run.
"""

from collections.abc import Callable, Sequence
from datetime import timedelta

import dagster as dg
import duckdb
import polars as pl

from pipeline import clock
from pipeline.defs.metadata import preview
from pipeline.defs.resources import PipelineRuntime
from pipeline.usage_load import month_end
from pipeline.warehouse.quality import (
    USAGE_TABLES,
    duplicate_keys,
    latest_covered_date,
    month_mismatches,
    negative_amounts,
)

# Yesterday is the newest complete UTC day; one more day of slack covers a late schedule tick.
FRESHNESS_LAG_DAYS = 2


@dg.asset_check(
    asset="usage_daily",
    required_resource_keys={"runtime"},
    description=f"The newest day with fetched usage is at most {FRESHNESS_LAG_DAYS} days old.",
)
def latest_partition_is_fresh(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    runtime: PipelineRuntime = context.resources.runtime
    with runtime.warehouse.read() as con:
        latest = latest_covered_date(con)
    oldest_fresh = clock.today() - timedelta(days=FRESHNESS_LAG_DAYS)
    return dg.AssetCheckResult(
        passed=latest is not None and latest >= oldest_fresh,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"latest_day": str(latest), "oldest_fresh_day": oldest_fresh.isoformat()},
    )


@dg.asset_check(
    asset="usage_daily",
    required_resource_keys={"runtime"},
    description="Every client-month fetched in full adds up to the API's own month figure "
    "(usage_reconciliation_monthly); a warning names the months to fetch again.",
)
def months_reconcile(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    """A warning, not an error: a mismatch means the API revised days after they were loaded
    (estimates become final), not that this run loaded anything wrong, and fetching the month's
    days again resolves it. As an error it would fail every run, whatever range it loaded, until
    someone fetched that month again."""
    runtime: PipelineRuntime = context.resources.runtime
    with runtime.warehouse.read() as con:
        mismatches = month_mismatches(con)
    months = sorted(set(mismatches["month"].to_list()))
    return dg.AssetCheckResult(
        passed=mismatches.height == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "mismatched_client_months": mismatches.height,
            "fetch_again": ", ".join(f"{m} .. {month_end(m)}" for m in months) or "none",
            "sample": preview(mismatches),
        },
    )


@dg.asset_check(
    asset="usage_daily",
    required_resource_keys={"runtime"},
    blocking=True,
    description="No two rows of a usage table share the unique key its table file declares "
    "(client and day, category, channel, month or observation).",
)
def usage_keys_are_unique(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    return _no_rows_break_a_rule(context, duplicate_keys, "duplicated_keys")


@dg.asset_check(
    asset="usage_daily",
    required_resource_keys={"runtime"},
    blocking=True,
    description="No count or amount its table file declares never negative is below zero.",
)
def usage_amounts_are_not_negative(
    context: dg.AssetCheckExecutionContext,
) -> dg.AssetCheckResult:
    return _no_rows_break_a_rule(context, negative_amounts, "negative_columns")


def _no_rows_break_a_rule(
    context: dg.AssetCheckExecutionContext,
    problems: Callable[[duckdb.DuckDBPyConnection, Sequence[str]], pl.DataFrame],
    counted: str,
) -> dg.AssetCheckResult:
    """Passed when `problems` finds no row of the usage tables breaking their declared rule."""
    runtime: PipelineRuntime = context.resources.runtime
    with runtime.warehouse.read() as con:
        found = problems(con, USAGE_TABLES)
    return dg.AssetCheckResult(
        passed=found.height == 0, metadata={counted: found.height, "sample": preview(found)}
    )


usage_checks = [
    latest_partition_is_fresh,
    months_reconcile,
    usage_keys_are_unique,
    usage_amounts_are_not_negative,
]
