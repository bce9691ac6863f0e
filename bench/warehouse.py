"""What copy-on-write costs: loads, views and exports on a warehouse of a million usage days.

The warehouse is built once from synthetic usage (1,000 clients x 1,000 days, three categories a
day), then the daily refresh's operations are timed on it.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from bench.common import median_seconds, section, table, timed
from pipeline.transform import schemas
from pipeline.warehouse import Warehouse, coverage_frame, create_views, export_parquet, load_usage

CLIENTS = 1000
DAYS = 1000
FIRST = date(2023, 1, 1)
CATEGORIES = ("marketing", "utility", "authentication")
REPEAT = 3


def _money(units: pl.Expr) -> pl.Expr:
    """Units of 1/10,000 as an exact decimal, built from digits (never through a float)."""
    digits = pl.format("{}.{}", units // 10_000, (units % 10_000).cast(pl.String).str.zfill(4))
    return digits.str.to_decimal(scale=10).cast(schemas.MONEY)


def usage(client_ids: list[str], start: date, days: int) -> dict[str, pl.DataFrame]:
    """load_usage's frames for every client x day of the range: synthetic, column-wise."""
    fetched_at = datetime.now(UTC)
    last = start + timedelta(days=days - 1)
    grid = pl.DataFrame({"client_id": client_ids}).join(
        pl.DataFrame({"usage_date": pl.date_range(start, last, eager=True)}), how="cross"
    )
    seed = pl.col("client_id").hash() + pl.col("usage_date").cast(pl.Int64)
    by_category = pl.concat(
        [
            grid.with_columns(
                category=pl.lit(name),
                category_family=pl.lit("pricing"),
                quantity=(seed.hash(i) % 500).cast(pl.Int64),
            )
            for i, name in enumerate(CATEGORIES)
        ]
    ).with_columns(
        paid_quantity=pl.col("quantity"),
        price=_money(pl.col("quantity") * 712),
        currency=pl.lit("EUR"),
        fetched_at=pl.lit(fetched_at),
    )
    daily = (
        by_category.group_by("client_id", "usage_date", "currency")
        .agg(
            pl.col("quantity").sum(),
            pl.col("price").sum().alias("total_price"),
            pl.col("fetched_at").first(),
        )
        .with_columns(
            paid_quantity=pl.col("quantity"),
            free_quantity=pl.lit(0, pl.Int64),
            free_tier=pl.lit(0, pl.Int64),
            free_entry_point=pl.lit(0, pl.Int64),
        )
    )
    return {
        "daily": daily.select(schemas.USAGE_DAILY_FRAME.names()).cast(schemas.USAGE_DAILY_FRAME),
        "by_category": by_category.select(schemas.USAGE_BY_CATEGORY_FRAME.names()).cast(
            schemas.USAGE_BY_CATEGORY_FRAME
        ),
        "coverage": coverage_frame(client_ids, start, last, fetched_at),
        "snapshots": pl.DataFrame(schema=schemas.BALANCE_SNAPSHOTS),
        "raw": pl.DataFrame(schema=schemas.RAW_BALANCE_RESPONSES),
    }


def run() -> str:
    client_ids = [f"client{i:04d}" for i in range(CLIENTS)]
    last = FIRST + timedelta(days=DAYS - 1)
    three = last - timedelta(days=2)
    recent = usage(client_ids, three, 3)
    with tempfile.TemporaryDirectory() as tmp:
        wh = Warehouse(Path(tmp) / "warehouse.duckdb")
        build, _ = timed(
            lambda: load_usage(
                wh, start=FIRST, end=last, client_ids=client_ids, **usage(client_ids, FIRST, DAYS)
            )
        )
        size_mb = wh.path.stat().st_size / 1e6
        copy = median_seconds(lambda: shutil.copyfile(wh.path, Path(tmp) / "copy.duckdb"), REPEAT)
        (Path(tmp) / "copy.duckdb").unlink()
        replace = median_seconds(
            lambda: load_usage(wh, start=three, end=last, client_ids=client_ids, **recent), REPEAT
        )
        views = median_seconds(lambda: create_views(wh), REPEAT)
        ranged = median_seconds(
            lambda: export_parquet(wh, Path(tmp) / "export", start=three, end=last), REPEAT
        )
        full, result = timed(lambda: export_parquet(wh, Path(tmp) / "full"))
    rows = [
        (
            f"build: load {CLIENTS * DAYS:,} usage_daily + {CLIENTS * DAYS * 3:,} "
            f"usage_by_category + {CLIENTS * DAYS:,} usage_coverage rows in one load",
            f"{build:.1f}",
        ),
        (
            f"copy the {size_mb:.0f} MB file (`shutil.copyfile`: what every write pays first)",
            f"{copy:.2f}",
        ),
        (
            f"`load_usage`: replace 3 days x {CLIENTS:,} clients (copy, delete, insert, "
            "checkpoint, fsync, swap)",
            f"{replace:.2f}",
        ),
        ("`create_views` (a copy-on-write write too)", f"{views:.2f}"),
        (
            "`export_parquet` of those 3 days (3 fact tables x 3 partitions + 5 small tables)",
            f"{ranged:.2f}",
        ),
        (f"`export_parquet` of everything ({result.files_written:,} files)", f"{full:.1f}"),
    ]
    return section(
        "Warehouse (DuckDB)",
        f"A warehouse holding {CLIENTS:,} clients x {DAYS:,} days of synthetic usage (three "
        f"categories a day), {size_mb:.0f} MB on disk; medians of {REPEAT} except the build "
        "and the full export.",
        table(["operation", "seconds"], rows),
        f"The file copy is {copy / replace:.0%} of a 3-day load and {copy / views:.0%} of "
        "`create_views`; most of the rest is DuckDB's delete, insert and checkpoint. On this "
        "machine the copy comes from the page cache; it grows with the file, that is with "
        "the history and with `raw_balance_responses` (every response ever fetched, not "
        "in this synthetic warehouse).",
    )
