"""Warehouse-wide invariants of the usage facts, re-checkable at any time from the UI.

The range-dependent checks (coverage of a run's days, families adding up) run inside the usage
asset, which knows the range it loaded.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb
import polars as pl

from pipeline.defs.metadata import preview
from pipeline.defs.resources import PipelineRuntime
from pipeline.warehouse.quality import duplicate_keys, latest_covered_date, negative_amounts

# Yesterday is the newest complete UTC day; one more day of slack covers a late schedule tick.
FRESHNESS_LAG_DAYS = 2
USAGE_TABLES = ("usage_daily", "usage_by_category")

ProblemQuery = Callable[[duckdb.DuckDBPyConnection, str], pl.DataFrame]


def _negative_values(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    return negative_amounts(con).filter(pl.col("table_name") == table)


def _problems_check(
    name: str, table: str, description: str, query: ProblemQuery
) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        name=name, asset=table, description=description, required_resource_keys={"runtime"}
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        runtime: PipelineRuntime = context.resources.runtime
        with runtime.warehouse.read() as con:
            problems = query(con, table)
        return dg.AssetCheckResult(
            passed=problems.height == 0,
            metadata={"problem_rows": problems.height, "sample": preview(problems)},
        )

    return _check


@dg.asset_check(
    asset="usage_daily",
    required_resource_keys={"runtime"},
    description=f"The newest day with fetched usage is at most {FRESHNESS_LAG_DAYS} days old.",
)
def latest_partition_is_fresh(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    runtime: PipelineRuntime = context.resources.runtime
    with runtime.warehouse.read() as con:
        latest = latest_covered_date(con)
    oldest_fresh = datetime.now(UTC).date() - timedelta(days=FRESHNESS_LAG_DAYS)
    return dg.AssetCheckResult(
        passed=latest is not None and latest >= oldest_fresh,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"latest_day": str(latest), "oldest_fresh_day": oldest_fresh.isoformat()},
    )


usage_checks = [
    *(
        _problems_check(
            f"one_row_per_key_{table}", table, "No two rows share the table's key.", duplicate_keys
        )
        for table in USAGE_TABLES
    ),
    *(
        _problems_check(
            f"no_negative_values_{table}",
            table,
            "No quantity or price is negative.",
            _negative_values,
        )
        for table in USAGE_TABLES
    ),
    latest_partition_is_fresh,
]
