"""A usage run in batches of clients: fetch → raw → transform → commit into the warehouse, one
batch at a time, each batch one transaction. Memory is bounded by the batch; a killed run loses at
most the batch in flight, and a resumed run skips the clients the warehouse says its earlier
batches committed (pipeline.warehouse.usage_loads).

`replay` goes the same way from the raw landing files instead of the API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from pipeline import clock
from pipeline.interrupts import run_async
from pipeline.partner_api import (
    ApiConfig,
    BalanceRequest,
    BalanceWindow,
    PartnerApiClient,
    UsageFetch,
)
from pipeline.settings import Settings
from pipeline.transform import (
    UNATTRIBUTED,
    BatchFrames,
    batch_frames,
    channel_usage_tables,
    raw_answers_frame,
)
from pipeline.usage_load.plan import months_of, usage_requests
from pipeline.usage_load.progress import WindowProgress
from pipeline.warehouse import (
    REQUEST_KEY,
    RawLanding,
    UsageLoad,
    Warehouse,
    channel_apps,
    coverage_frame,
    replay_fetches,
    stored_bodies,
)

Report = Callable[[str], None]


@dataclass
class UsageRun:
    """What one run (or replay) of a range committed, for metadata and checks."""

    client_ids: list[str]
    failures: dict[str, str] = field(default_factory=dict)
    """Per client not loaded: one line saying why."""
    resumed: int = 0
    """Clients an interrupted run had saved, not fetched again."""
    batches: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    """Rows inserted per table by this run's batches."""
    deleted: dict[str, int] = field(default_factory=dict)
    """Rows the batches replaced, per table."""
    api_stats: dict[str, int | float] = field(default_factory=dict)
    channel_requests: int = 0
    """Balance requests filtered to one channel (PIPELINE_CHANNEL_USAGE=on)."""
    unattributed_rows: int = 0
    """usage_daily_by_channel rows no listed channel explains."""

    def add_counts(self, counts: dict[str, dict[str, int]]) -> None:
        for totals, batch in ((self.rows, counts["inserted"]), (self.deleted, counts["deleted"])):
            for table, count in batch.items():
                totals[table] = totals.get(table, 0) + count
        self.batches += 1


def fetch_usage_in_batches(
    settings: Settings,
    api_config: ApiConfig,
    wh: Warehouse,
    client_ids: Sequence[str],
    start: date,
    end: date,
    *,
    resume: bool,
    report: Report,
) -> UsageRun:
    """Fetch every client's usage of [start, end] and commit it batch by batch. The load is
    marked finished only when every client was loaded."""
    requests = usage_requests(start, end, api_config.window_days, clock.yesterday())
    months = months_of(requests)
    channel_usage = settings.channel_usage
    listing = _channel_listing(wh) if channel_usage else None
    run = UsageRun(list(client_ids))
    load = UsageLoad.open(wh, "run", start, end, resume=resume, channel_usage=channel_usage)
    todo = _not_saved(load, wh, run)
    if run.resumed:
        report(f"usage: resuming, {run.resumed} clients already saved by an interrupted run")
    plans = {cid: requests + _channel_requests(listing, cid, requests) for cid in todo}
    progress = WindowProgress(sum(map(len, plans.values())), report)
    landing = RawLanding(settings.raw_dir)

    async def fetch_all() -> None:
        async with PartnerApiClient(api_config) as api:
            for batch in _batches(todo, settings.batch_clients):
                batch_plans = {cid: plans[cid] for cid in batch}
                fetch = await api.fetch_planned(batch_plans, progress.window_done)
                # Between batches nothing is in flight, so the event loop may block here.
                _save_fetched(wh, landing, load, run, batch, fetch, months, listing)
                report(f"usage: batch {run.batches} committed ({len(batch)} clients)")
            run.api_stats = api.stats.as_dict()

    run_async(fetch_all())
    _finish(load, wh, run)
    return run


def _not_saved(load: UsageLoad, wh: Warehouse, run: UsageRun) -> list[str]:
    """The run's clients the load has not committed yet; counts the others as resumed."""
    saved, batches = load.saved_clients(wh)
    saved &= set(run.client_ids)
    run.resumed, run.batches = len(saved), batches
    return [cid for cid in run.client_ids if cid not in saved]


def _save_fetched(
    wh: Warehouse,
    landing: RawLanding,
    load: UsageLoad,
    run: UsageRun,
    batch: Sequence[str],
    fetch: UsageFetch,
    months: Sequence[date],
    listing: pl.DataFrame | None,
) -> None:
    raw = raw_answers_frame(fetch.windows)
    fetches = landing.land(raw, _stored(wh, batch, raw))
    answers = [w for w in fetch.windows if w.client_id not in fetch.failures]
    frames = batch_frames(answers)
    failures = {cid: str(error) for cid, error in fetch.failures.items()}
    failures |= {cid: str(error) for cid, error in frames.failures.items()}
    loaded = [cid for cid in batch if cid not in failures]
    fetched_months = pl.DataFrame(
        [(cid, month) for cid in loaded for month in months],
        schema={"client_id": pl.String, "month": pl.Date},
        orient="row",
    )
    tables = _usage_tables(frames, loaded, load.start, load.end)
    tables |= {"usage_monthly_api": frames.monthly, "raw_balance_fetches": fetches}
    if listing is not None:
        by_channel, by_channel_category = channel_usage_tables(
            frames.usage, frames.channels, listing
        )
        tables |= {
            "usage_daily_by_channel": by_channel,
            "usage_by_channel_category": by_channel_category,
        }
        run.channel_requests += sum(w.app_id is not None for w in fetch.windows)
        run.unattributed_rows += by_channel.filter(pl.col("app_id") == UNATTRIBUTED).height
    run.add_counts(load.commit_batch(wh, run.batches + 1, loaded, tables, fetched_months))
    run.failures |= failures


def _channel_listing(wh: Warehouse) -> pl.DataFrame:
    """Every listed channel with an app (cancelled ones too: their past usage still counts)."""
    with wh.read() as con:
        return channel_apps(con)


def _channel_requests(
    listing: pl.DataFrame | None, client_id: str, requests: Sequence[BalanceRequest]
) -> list[BalanceRequest]:
    """One request per listed channel of the client per day window (the app_id filter)."""
    if listing is None:
        return []
    apps = listing.filter(pl.col("client_id") == client_id)["app_id"].to_list()
    return [
        BalanceRequest(request.start, request.end, "day", app_id)
        for app_id in apps
        for request in requests
        if request.granularity == "day"
    ]


def _usage_tables(
    frames: BatchFrames, loaded: Sequence[str], start: date, end: date
) -> dict[str, pl.DataFrame]:
    return {
        "usage_daily": frames.usage.daily,
        "usage_by_category": frames.usage.by_category,
        "usage_coverage": coverage_frame(loaded, start, end, clock.now()),
        "balance_snapshots": frames.snapshots,
    }


def _stored(wh: Warehouse, batch: Sequence[str], raw: pl.DataFrame) -> pl.DataFrame:
    if not wh.exists() or raw.is_empty():
        return raw.head(0).select(*REQUEST_KEY, "body_sha256", body_file=pl.lit(None, pl.String))
    first, last = raw["window_start"].min(), raw["window_start"].max()
    assert isinstance(first, date) and isinstance(last, date)  # raw is not empty
    with wh.read() as con:
        return stored_bodies(con, batch, first, last)


def replay_in_batches(
    settings: Settings, wh: Warehouse, start: date, end: date, *, resume: bool, report: Report
) -> UsageRun:
    """Rebuild usage of [start, end] from the raw landing files, without calling the API: for
    each client, the days its logged answers cover are replaced by what they say."""
    with wh.read() as con:
        logged = replay_fetches(con, start, end)
    landing = RawLanding(settings.raw_dir)
    run = UsageRun(sorted(set(logged["client_id"].to_list())))
    load = UsageLoad.open(wh, "replay", start, end, resume=resume)
    for batch in _batches(_not_saved(load, wh, run), settings.batch_clients):
        fetches, unreadable = landing.read_back(logged.filter(pl.col("client_id").is_in(batch)))
        frames = batch_frames(_answers(fetches))
        run.failures |= unreadable
        run.failures |= {cid: str(error) for cid, error in frames.failures.items()}
        loaded = [cid for cid in batch if cid not in run.failures]
        tables = _usage_tables(frames, loaded, start, end)
        tables["usage_coverage"] = _replayed_days(fetches, loaded, start, end)
        tables = {name: _within(frame, start, end) for name, frame in tables.items()}
        del tables["balance_snapshots"]  # observations already logged when fetched
        run.add_counts(load.commit_batch(wh, run.batches + 1, loaded, tables))
        report(f"replay: batch {run.batches} committed ({len(batch)} clients)")
    _finish(load, wh, run)
    return run


def _answers(fetches: pl.DataFrame) -> list[BalanceWindow]:
    """The logged answers (fetch-log rows with their verified `body`) as the API gave them."""
    return [
        BalanceWindow(
            client_id=row["client_id"],
            start=row["window_start"],
            end=row["window_end"],
            granularity=row["granularity"],
            content=row["body"],
            fetched_at=row["fetched_at"],
        )
        for row in fetches.iter_rows(named=True)
    ]


def _replayed_days(
    fetches: pl.DataFrame, loaded: Sequence[str], start: date, end: date
) -> pl.DataFrame:
    """usage_coverage of a replay: each loaded client's days its answers cover, in range."""
    return (
        fetches.filter(pl.col("client_id").is_in(list(loaded)))
        .select(
            "client_id",
            pl.date_ranges(
                pl.max_horizontal("window_start", pl.lit(start)),
                pl.min_horizontal("window_end", pl.lit(end)),
            ).alias("usage_date"),
            "fetched_at",
        )
        .explode("usage_date")
        .group_by("client_id", "usage_date")
        .agg(pl.col("fetched_at").max())
        .sort("client_id", "usage_date")
    )


def _within(frame: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    if "usage_date" not in frame.columns:
        return frame
    return frame.filter(pl.col("usage_date").is_between(start, end))


def _finish(load: UsageLoad, wh: Warehouse, run: UsageRun) -> None:
    if not run.failures:
        load.finish(wh)


def _batches(client_ids: Sequence[str], size: int) -> Iterator[list[str]]:
    for first in range(0, len(client_ids), size):
        yield list(client_ids[first : first + size])
