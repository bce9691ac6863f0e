"""The usage facts: one single-run backfill fetches every client's balance windows for a day range,
keeps the raw responses, flattens them and replaces exactly that range in the warehouse."""

import asyncio
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import dagster as dg
import polars as pl

from pipeline.defs.directory import WAREHOUSE_POOL
from pipeline.defs.metadata import api_effort, preview
from pipeline.defs.partitions import days_of
from pipeline.defs.progress import WindowProgress
from pipeline.defs.resources import PipelineRuntime
from pipeline.partner_api import (
    BalanceWindow,
    PartnerApiClient,
    PartnerApiError,
    UsageFetch,
    split_windows,
)
from pipeline.transform import (
    RawBalance,
    UsageFrames,
    balance_snapshots_frame,
    raw_responses_frame,
    usage_frames,
)
from pipeline.warehouse import (
    LoadResult,
    Warehouse,
    coverage_frame,
    current_client_ids,
    load_usage,
)
from pipeline.warehouse.quality import coverage_gaps, usage_family_mismatches

COVERAGE_CHECK = "every_client_and_day_fetched"
FAMILIES_CHECK = "categories_add_up_to_totals"


@dataclass(frozen=True)
class UsageLoad:
    """What one run fetched and loaded, for its metadata and checks."""

    client_ids: list[str]
    failures: dict[str, PartnerApiError]
    frames: UsageFrames
    loaded: LoadResult
    api_stats: dict[str, int | float]


async def _fetch_usage(
    runtime: PipelineRuntime,
    client_ids: Sequence[str],
    start: date,
    end: date,
    progress: WindowProgress,
) -> tuple[UsageFetch, dict[str, int | float]]:
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


def fetch_and_load(
    runtime: PipelineRuntime, start: date, end: date, report: Callable[[str], None]
) -> UsageLoad:
    """Fetch every listed client's usage for [start, end] and replace that range in the warehouse,
    for the clients that came back whole; a failed client keeps its previous rows."""
    client_ids = _listed_clients(runtime.warehouse)
    windows_per_client = len(split_windows(start, end, runtime.api_config.window_days))
    progress = WindowProgress(len(client_ids) * windows_per_client, report)
    fetch, stats = asyncio.run(_fetch_usage(runtime, client_ids, start, end, progress))
    # A failed client's earlier windows came back, but its range is incomplete: load none of it.
    windows = [w for w in fetch.windows if w.client_id not in fetch.failures]
    fetched = sorted(set(client_ids) - set(fetch.failures))
    frames = usage_frames([RawBalance(w.client_id, w.raw_text, w.fetched_at) for w in windows])
    loaded = load_usage(
        runtime.warehouse,
        start=start,
        end=end,
        client_ids=fetched,
        daily=frames.daily,
        by_category=frames.by_category,
        coverage=coverage_frame(fetched, start, end, datetime.now(UTC)),
        snapshots=balance_snapshots_frame(_latest_window_per_client(windows)),
        raw=raw_responses_frame(windows),
    )
    return UsageLoad(client_ids, dict(fetch.failures), frames, loaded, stats)


def _failure(run: UsageLoad) -> dg.Failure:
    problems = "\n".join(str(error) for error in run.failures.values())
    loaded = len(run.client_ids) - len(run.failures)
    return dg.Failure(
        f"{len(run.failures)} of {len(run.client_ids)} clients could not be fetched; the other "
        f"{loaded} were loaded. Re-run the range to complete it.\n{problems}",
        metadata=api_effort(run.api_stats),
    )


def _values(frame: pl.DataFrame, column: str) -> str:
    return ", ".join(sorted(frame[column].unique().to_list()))


def _materializations(
    run: UsageLoad, start: date, end: date, seconds: float
) -> Iterator[dg.MaterializeResult]:
    common = {
        "clients": len(run.client_ids),
        "days": (end - start).days + 1,
        "first_day": start.isoformat(),
        "last_day": end.isoformat(),
        **api_effort(run.api_stats),
        "duration_seconds": round(seconds, 3),
        **run.loaded.as_metadata(),
    }
    for key, frame, column, label in (
        ("usage_daily", run.frames.daily, "currency", "currencies"),
        ("usage_by_category", run.frames.by_category, "category", "categories"),
    ):
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "rows": frame.height,
                label: _values(frame, column),
                **common,
                "preview": preview(frame),
            },
        )


def _checks(warehouse: Warehouse, start: date, end: date) -> Iterator[dg.AssetCheckResult]:
    with warehouse.read() as con:
        gaps = coverage_gaps(con, start, end)
        mismatches = usage_family_mismatches(con, start, end)
    for name, problems, label in (
        (COVERAGE_CHECK, gaps, "missing_client_days"),
        (FAMILIES_CHECK, mismatches, "mismatched_rows"),
    ):
        yield dg.AssetCheckResult(
            check_name=name,
            asset_key="usage_daily",
            passed=problems.height == 0,
            metadata={label: problems.height, "sample": preview(problems)},
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
        began = time.monotonic()
        run = fetch_and_load(runtime, start, end, runtime.progress or context.log.info)
        if run.failures:
            raise _failure(run)
        yield from _materializations(run, start, end, time.monotonic() - began)
        yield from _checks(runtime.warehouse, start, end)

    return usage
