"""The usage facts: one single-run backfill over a day range, fetched and saved in batches of
clients (pipeline.usage_load), published at once, then checked."""

import time
from collections.abc import Iterator
from datetime import date

import dagster as dg

from pipeline.defs.metadata import api_effort, preview
from pipeline.defs.partitions import days_of
from pipeline.defs.pools import WAREHOUSE_POOL
from pipeline.defs.resources import PipelineRuntime
from pipeline.usage_load import UsageRun, fetch_usage_in_batches
from pipeline.warehouse import Warehouse, current_client_ids
from pipeline.warehouse.quality import (
    channel_usage_mismatches,
    coverage_gaps,
    unattributed_channel_usage,
    usage_family_mismatches,
)

COVERAGE_CHECK = "every_client_and_day_fetched"
FAMILIES_CHECK = "categories_add_up_to_totals"
CHANNELS_CHECK = "channels_add_up_to_client_days"
UNATTRIBUTED_CHECK = "channel_usage_is_attributed"


class UsageConfig(dg.Config):
    resume: bool = False
    """Finish an interrupted run of the same range: clients it already saved are not fetched
    again. Off, every day is fetched again (recent figures get revised)."""


def _listed_clients(warehouse: Warehouse) -> list[str]:
    client_ids: list[str] = []
    if warehouse.exists():
        with warehouse.read() as con:
            client_ids = current_client_ids(con)
    if not client_ids:
        raise dg.Failure(
            "the clients table is empty: the `clients` asset must load a "
            "listing before usage can be fetched"
        )
    return client_ids


def _failures_text(client_ids: list[str], failures: dict[str, str]) -> str | None:
    """What the coverage check says of clients that failed: how many, then one line each."""
    if not failures:
        return None
    loaded = len(client_ids) - len(failures)
    return "\n".join(
        [
            f"{len(failures)} of {len(client_ids)} clients could not be loaded; the other "
            f"{loaded} were. Re-run the range with --resume to fetch only those.",
            *failures.values(),
        ]
    )


def _materializations(
    run: UsageRun, start: date, end: date, seconds: float, snapshot: int | None
) -> Iterator[dg.MaterializeResult]:
    replaced = {f"{table}.deleted": count for table, count in sorted(run.deleted.items())}
    common = {
        "clients": len(run.client_ids),
        "clients_failed": len(run.failures),
        "clients_resumed": run.resumed,
        "batches": run.batches,
        "days": (end - start).days + 1,
        "first_day": start.isoformat(),
        "last_day": end.isoformat(),
        **api_effort(run.api_stats),
        "channel_requests": run.channel_requests,
        "unattributed_channel_rows": run.unattributed_rows,
        "duration_seconds": round(seconds, 3),
        **replaced,
    }
    if snapshot is not None:
        # The lake as this run left it: `query --as-of` reads it back, whatever came after.
        common["snapshot_id"] = snapshot
    for key in ("usage_daily", "usage_by_category"):
        yield dg.MaterializeResult(
            asset_key=key, metadata={"rows_saved": run.rows.get(key, 0), **common}
        )


def _checks(
    warehouse: Warehouse, start: date, end: date, run: UsageRun
) -> Iterator[dg.AssetCheckResult]:
    with warehouse.read() as con:
        gaps = coverage_gaps(con, start, end)
        mismatches = usage_family_mismatches(con, start, end)
        channel_mismatches = channel_usage_mismatches(con, start, end)
        unattributed = unattributed_channel_usage(con, start, end)
    # A client that failed is not fetched by this run even where an earlier run covered its days.
    # Its failure is this check's, not the step's: the views and exports after the step then
    # publish what the other clients loaded, in the same run.
    yield dg.AssetCheckResult(
        check_name=COVERAGE_CHECK,
        asset_key="usage_daily",
        passed=gaps.height == 0 and not run.failures,
        description=_failures_text(run.client_ids, run.failures),
        metadata={
            "missing_client_days": gaps.height,
            "clients_failed": ", ".join(sorted(run.failures)) or "none",
            "sample": preview(gaps),
        },
    )
    yield dg.AssetCheckResult(
        check_name=FAMILIES_CHECK,
        asset_key="usage_daily",
        passed=mismatches.height == 0,
        metadata={"mismatched_rows": mismatches.height, "sample": preview(mismatches)},
    )
    yield dg.AssetCheckResult(
        check_name=CHANNELS_CHECK,
        asset_key="usage_daily",
        passed=channel_mismatches.height == 0,
        metadata={
            "mismatched_client_days": channel_mismatches.height,
            "sample": preview(channel_mismatches),
        },
    )
    yield dg.AssetCheckResult(
        check_name=UNATTRIBUTED_CHECK,
        asset_key="usage_daily",
        passed=unattributed.height == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"unattributed_rows": unattributed.height, "sample": preview(unattributed)},
    )


def usage_asset(partitions: dg.DailyPartitionsDefinition) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name="usage",
        specs=[
            dg.AssetSpec(
                "usage_daily",
                deps=["clients"],
                group_name="usage",
                kinds={"duckdb", "polars"},
                description="Client x UTC day usage totals (quantities, exact total_price) in the "
                "client's currency; raw responses, coverage and balance snapshots load with it.",
            ),
            dg.AssetSpec(
                "usage_by_category",
                deps=["clients"],
                group_name="usage",
                kinds={"duckdb", "polars"},
                description="Client x day x category usage, categories discovered from the API's "
                "<category>_quantity/_paid_quantity/_price columns, with their family.",
            ),
        ],
        check_specs=[
            dg.AssetCheckSpec(
                COVERAGE_CHECK,
                asset="usage_daily",
                description="Every listed client was fetched for every day of the run.",
            ),
            dg.AssetCheckSpec(
                CHANNELS_CHECK,
                asset="usage_daily",
                description="With PIPELINE_CHANNEL_USAGE=on: each client-day's channel rows, "
                "the 'unattributed' remainder included, add up to its usage_daily row.",
            ),
            dg.AssetCheckSpec(
                UNATTRIBUTED_CHECK,
                asset="usage_daily",
                description="Every client-day's usage is explained by its listed channels "
                "(a warning shows the 'unattributed' rows, e.g. a channel missing from the "
                "listing).",
            ),
            dg.AssetCheckSpec(
                FAMILIES_CHECK,
                asset="usage_daily",
                description="Each category family filled on a row adds up to the "
                "row's quantity, paid_quantity and total_price.",
            ),
        ],
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        required_resource_keys={"runtime"},
    )
    def usage(
        context: dg.AssetExecutionContext, config: UsageConfig
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        runtime: PipelineRuntime = context.resources.runtime
        start, end = days_of(context.partition_time_window)
        began = time.monotonic()
        run = fetch_usage_in_batches(
            runtime.settings,
            runtime.api_config,
            runtime.warehouse,
            _listed_clients(runtime.warehouse),
            start,
            end,
            resume=config.resume,
            report=runtime.progress or context.log.info,
        )
        snapshot = runtime.warehouse.run_snapshot(context.run_id)
        yield from _materializations(run, start, end, time.monotonic() - began, snapshot)
        yield from _checks(runtime.warehouse, start, end, run)

    return usage
