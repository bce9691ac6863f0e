"""Warehouse-wide checks of the usage facts, re-checkable at any time from the UI.

The range-dependent checks (coverage of a run's days, families adding up, channels) run inside the
usage asset, which knows the range it loaded. Keys and non-negative amounts are not checked here:
they are constraints in the DDL (sql/tables), which DuckDB enforces on every insert.
"""

from datetime import timedelta

import dagster as dg

from pipeline import clock
from pipeline.defs.metadata import preview
from pipeline.defs.resources import PipelineRuntime
from pipeline.usage_load import month_end
from pipeline.warehouse.quality import latest_covered_date, month_mismatches

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


usage_checks = [latest_partition_is_fresh, months_reconcile]
