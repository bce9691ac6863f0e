"""The usage facts: one single-run backfill fetches every client's balance windows for a day range,
keeps the raw responses, flattens them and replaces exactly that range in the warehouse."""


import asyncio
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime

import dagster as dg

from pipeline.defs.directory import WAREHOUSE_POOL
from pipeline.defs.metadata import api_effort, preview
from pipeline.defs.partitions import days_of
from pipeline.defs.progress import WindowProgress
from pipeline.defs.resources import PipelineRuntime
from pipeline.partner_api import BalanceWindow, PartnerApiClient, UsageFetch, split_windows
from pipeline.transform import (
    RawBalance,
    balance_snapshots_frame,
    family_mismatches,
    raw_responses_frame,
    usage_frames,
)
from pipeline.warehouse import Warehouse, coverage_frame, current_client_ids, load_usage
from pipeline.warehouse.quality import coverage_gaps

COVERAGE_CHECK = "every_client_and_day_fetched"
FAMILIES_CHECK = "categories_add_up_to_totals"


async def _fetch_usage(
    runtime: PipelineRuntime,
    client_ids: Sequence[str],
    start: date,
    end: date,
    progress: WindowProgress,
) -> tuple[UsageFetch, dict]:
    async with PartnerApiClient(runtime.api_config) as api:
        fetch = await api.fetch_usage(client_ids, start, end, on_window_done=progress.window_done)
        return fetch, api.stats.as_dict()


def _latest_window_per_client(windows: Sequence[BalanceWindow]) -> list[RawBalance]:
    """Balance and renewal are a client's current state: one observation per client and run."""
    latest: dict[str, BalanceWindow] = {}
    for window in windows:
        if (
            window.client_id not in latest
            or window.fetched_at > latest[window.client_id].fetched_at
        ):
            latest[window.client_id] = window
    return [RawBalance(w.client_id, w.raw_text, w.fetched_at) for w in latest.values()]


def _listed_clients(warehouse: Warehouse) -> list[str]:
    client_ids: list[str] = []
    if warehouse.exists():
        with warehouse.read() as con:
            client_ids = current_client_ids(con)
    if not client_ids:
        raise dg.Failure("no clients in the warehouse: materialize the `clients` asset first")
    return client_ids


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
        context: dg.AssetExecutionContext,
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        runtime: PipelineRuntime = context.resources.runtime
        start, end = days_of(context.partition_time_window)
        client_ids = _listed_clients(runtime.warehouse)
        began = time.monotonic()
        windows_total = len(client_ids) * len(
            split_windows(start, end, runtime.api_config.window_days)
        )
        progress = WindowProgress(windows_total, report=runtime.progress or context.log.info)
        fetch, stats = asyncio.run(_fetch_usage(runtime, client_ids, start, end, progress))

        raws = [RawBalance(w.client_id, w.raw_text, w.fetched_at) for w in fetch.windows]
        frames = usage_frames(raws)
        fetched = sorted(set(client_ids) - set(fetch.failures))
        loaded = load_usage(
            runtime.warehouse,
            start=start,
            end=end,
            client_ids=fetched,
            daily=frames.daily,
            by_category=frames.by_category,
            coverage=coverage_frame(fetched, start, end, datetime.now(UTC)),
            snapshots=balance_snapshots_frame(_latest_window_per_client(fetch.windows)),
            raw=raw_responses_frame(fetch.windows),
        )
        if fetch.failures:
            problems = "\n".join(str(error) for error in fetch.failures.values())
            raise dg.Failure(
                f"{len(fetch.failures)} of {len(client_ids)} clients could not be fetched; the "
                f"other {len(fetched)} were loaded. Re-run the range to complete it.\n{problems}",
                metadata=api_effort(stats),
            )

        common = {
            "clients": len(client_ids),
            "days": (end - start).days + 1,
            "first_day": start.isoformat(),
            "last_day": end.isoformat(),
            **api_effort(stats),
            "duration_seconds": round(time.monotonic() - began, 3),
        }
        yield dg.MaterializeResult(
            asset_key="usage_daily",
            metadata={
                "rows": frames.daily.height,
                **loaded.as_metadata(),
                "currencies": ", ".join(sorted(frames.daily["currency"].unique().to_list())),
                **common,
                "preview": preview(frames.daily),
            },
        )
        yield dg.MaterializeResult(
            asset_key="usage_by_category",
            metadata={
                "rows": frames.by_category.height,
                "categories": ", ".join(sorted(frames.by_category["category"].unique().to_list())),
                **common,
                "preview": preview(frames.by_category),
            },
        )
        with runtime.warehouse.read() as con:
            gaps = coverage_gaps(con, start, end)
        yield dg.AssetCheckResult(
            check_name=COVERAGE_CHECK,
            asset_key="usage_daily",
            passed=gaps.height == 0,
            metadata={"missing_client_days": gaps.height, "sample": preview(gaps)},
        )
        mismatches = family_mismatches(frames.daily, frames.by_category)
        yield dg.AssetCheckResult(
            check_name=FAMILIES_CHECK,
            asset_key="usage_daily",
            passed=mismatches.height == 0,
            metadata={"mismatched_rows": mismatches.height, "sample": preview(mismatches)},
        )

    return usage
