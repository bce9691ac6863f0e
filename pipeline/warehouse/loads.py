"""The load functions: each call is one transaction (one snapshot) of the warehouse."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import polars as pl

from pipeline.warehouse.errors import WarehouseError
from pipeline.warehouse.frames import check_fits_table
from pipeline.warehouse.history import replace_current_state
from pipeline.warehouse.store import Warehouse
from pipeline.warehouse.usage_loads import DAY_FACTS, replace_usage


@dataclass(frozen=True)
class LoadResult:
    """Rows deleted and inserted per table by one load (tables it did not touch are absent)."""

    deleted: Mapping[str, int] = field(default_factory=dict)
    inserted: Mapping[str, int] = field(default_factory=dict)

    def as_metadata(self) -> dict[str, int]:
        """Flat counts such as {"usage_daily.inserted": 31}, for materialization metadata."""
        counts = {f"{table}.deleted": n for table, n in self.deleted.items()}
        counts |= {f"{table}.inserted": n for table, n in self.inserted.items()}
        return dict(sorted(counts.items()))


def load_usage(
    wh: Warehouse,
    *,
    start: date,
    end: date,
    client_ids: Sequence[str],
    daily: pl.DataFrame,
    by_category: pl.DataFrame,
    coverage: pl.DataFrame,
    snapshots: pl.DataFrame,
    raw_fetches: pl.DataFrame | None = None,
) -> LoadResult:
    """Replace exactly the fetched clients' days of [start, end]; append snapshots and fetches.

    One transaction, the same replacement a run's batches commit. A client left out of
    `client_ids` (say its fetch failed) keeps its previous rows. Rows outside the range or of
    other clients are refused before anything changes.
    """
    if start > end:
        raise WarehouseError(f"usage range starts {start} after it ends {end}; nothing was loaded")
    tables = {
        "usage_daily": daily,
        "usage_by_category": by_category,
        "usage_coverage": coverage,
        "balance_snapshots": snapshots,
    }
    if raw_fetches is not None:
        tables["raw_balance_fetches"] = raw_fetches
    with wh.write(f"usage {start}..{end}") as con:
        counts = replace_usage(con, tables, DAY_FACTS, None, (start, end, client_ids))
    return LoadResult(deleted=counts["deleted"], inserted=counts["inserted"])


def load_clients(wh: Warehouse, frame: pl.DataFrame, observed_at: datetime) -> LoadResult:
    """Replace current clients by a successful full listing; record changed clients in history."""
    return _load_state(wh, "clients", frame, observed_at)


def load_channels(wh: Warehouse, frame: pl.DataFrame, observed_at: datetime) -> LoadResult:
    """Replace current channels by a successful full listing; record changed channels in history."""
    return _load_state(wh, "channels", frame, observed_at)


def coverage_frame(
    client_ids: Sequence[str], start: date, end: date, fetched_at: datetime
) -> pl.DataFrame:
    """usage_coverage rows for every client x day of [start, end] fetched at `fetched_at`."""
    days = pl.date_range(start, end, timedelta(days=1), eager=True).alias("usage_date")
    clients = pl.DataFrame({"client_id": list(client_ids)}, schema={"client_id": pl.String})
    return clients.join(days.to_frame(), how="cross").with_columns(
        pl.lit(fetched_at, dtype=pl.Datetime("us", "UTC")).alias("fetched_at")
    )


def _load_state(
    wh: Warehouse, table: str, frame: pl.DataFrame, observed_at: datetime
) -> LoadResult:
    if observed_at.tzinfo is None:
        raise WarehouseError(f"{table} observed_at {observed_at} has no time zone; pass UTC")
    stamped = frame.with_columns(
        pl.lit(observed_at, dtype=pl.Datetime("us", "UTC")).alias("observed_at")
    )
    with wh.write(f"{table} listing") as con:
        check_fits_table(con, table, stamped)
        change = replace_current_state(con, table, stamped, observed_at)
    return LoadResult(
        deleted={table: change.removed},
        inserted={table: change.inserted, f"{table}_history": change.history_appended},
    )
