"""What the weekly maintenance does to a lake of many small commits (see `run` for the lake)."""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl

from bench.common import Options, section, table
from pipeline.warehouse import Warehouse, coverage_frame, load_usage
from pipeline.warehouse.maintenance import MaintenanceResult, maintain

BATCH = 50
BACKFILL_DAYS = 90
REFETCH_DAYS = 3
CATEGORIES = ("marketing", "utility", "authentication", "service")
FIRST_DAY = date(2025, 1, 1)


def _schemas(wh: Warehouse) -> dict[str, pl.Schema]:
    with wh.write("schema") as con:
        return {
            t: con.sql(f"SELECT * FROM {t} LIMIT 0").pl().schema
            for t in ("usage_daily", "usage_by_category", "balance_snapshots")
        }


def _load(
    wh: Warehouse, schemas: dict, clients: list[str], first: date, last: date, n: int
) -> None:
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    at = datetime.now(UTC)
    keys = [(c, d) for c in clients for d in days]
    price = [Decimal(f"{(i * 7 + n) % 97}.{n % 10}") for i in range(len(keys))]
    daily = pl.DataFrame(
        {
            "client_id": [c for c, _ in keys],
            "usage_date": [d for _, d in keys],
            "currency": "EUR",
            "quantity": 40,
            "paid_quantity": 30,
            "free_quantity": 10,
            "free_tier": 10,
            "free_entry_point": 0,
            "total_price": price,
            "fetched_at": at,
        },
        schema=schemas["usage_daily"],
    )
    by_category = pl.DataFrame(
        {
            "client_id": [c for c, _ in keys for _ in CATEGORIES],
            "usage_date": [d for _, d in keys for _ in CATEGORIES],
            "currency": "EUR",
            "category": [name for _ in keys for name in CATEGORIES],
            "category_family": "pricing",
            "quantity": 10,
            "paid_quantity": 8,
            "price": [p / 4 for p in price for _ in CATEGORIES],
            "fetched_at": at,
        },
        schema=schemas["usage_by_category"],
    )
    load_usage(
        wh,
        start=first,
        end=last,
        client_ids=clients,
        daily=daily,
        by_category=by_category,
        coverage=coverage_frame(clients, first, last, at),
        snapshots=pl.DataFrame(schema=schemas["balance_snapshots"]),
    )


def _stored(wh: Warehouse) -> tuple[int, int]:
    files = [p for p in Path(wh.data_path).rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def _read_files(wh: Warehouse) -> int:
    """Data plus delete files a scan of usage_daily and usage_by_category reads."""
    with wh.read() as con:
        [(count,)] = con.execute(
            "SELECT sum(file_count + delete_file_count) FROM ducklake_table_info('warehouse') "
            "WHERE table_name IN ('usage_daily', 'usage_by_category')"
        ).fetchall()
    return int(count)


def _scan_seconds(wh: Warehouse) -> float:
    with wh.read() as con:
        best = float("inf")
        for _ in range(3):
            began = time.perf_counter()
            con.execute("SELECT sum(total_price) FROM usage_daily").fetchall()
            best = min(best, time.perf_counter() - began)
    return best


def _state(wh: Warehouse) -> list[object]:
    files, size = _stored(wh)
    with wh.read() as con:
        [(snapshots,)] = con.execute("SELECT count(*) FROM warehouse.snapshots()").fetchall()
    return [files, f"{size / 1e6:.1f}", snapshots, _read_files(wh), f"{_scan_seconds(wh):.3f}"]


def _latest_time(wh: Warehouse) -> datetime:
    with wh.read() as con:
        [(moment,)] = con.execute("SELECT max(snapshot_time) FROM warehouse.snapshots()").fetchall()
    return moment


def _timed(wh: Warehouse, retention: timedelta, now: datetime) -> tuple[MaintenanceResult, float]:
    began = time.perf_counter()
    result = maintain(wh, retention, now=now)
    return result, time.perf_counter() - began


def run(options: Options) -> str:
    clients = 60 if options.quick else 300
    runs = 8 if options.quick else 60
    ids = [f"client-{n:05d}" for n in range(clients)]
    batches = [ids[i : i + BATCH] for i in range(0, clients, BATCH)]
    with tempfile.TemporaryDirectory(prefix="bench-maintenance-") as folder:
        wh = Warehouse(Path(folder) / "warehouse.sqlite")
        schemas = _schemas(wh)
        backfill_end = FIRST_DAY + timedelta(days=BACKFILL_DAYS - 1)
        for batch in batches:
            _load(wh, schemas, batch, FIRST_DAY, backfill_end, 0)
        for n in range(1, runs + 1):
            last = backfill_end + timedelta(days=n)
            for batch in batches:
                _load(wh, schemas, batch, last - timedelta(days=REFETCH_DAYS), last, n)
        commits = len(batches) * (runs + 1)
        rows = [["after the loads", *_state(wh), ""]]
        first, first_s = _timed(wh, timedelta(days=90), _latest_time(wh))
        rows.append(["maintenance, every snapshot kept", *_state(wh), f"{first_s:.1f}"])
        second, second_s = _timed(wh, timedelta(days=1), _latest_time(wh) + timedelta(days=8))
        rows.append(["a week later, retention 1 day", *_state(wh), f"{second_s:.1f}"])
    headers = [
        "state",
        "files",
        "MB",
        "snapshots",
        "files a scan reads",
        "scan s",
        "maintenance s",
    ]
    notes = (
        f"The first maintenance flushed {first.rows_flushed} inlined "
        f"rows, rewrote {first.files_rewritten} files with deletes, merged {first.files_merged} "
        f"files and deleted none (the grace); the second expired {second.snapshots_expired} "
        f"snapshots and deleted {second.files_deleted} files."
    )
    what = (
        f"A lake of {clients} clients: a {BACKFILL_DAYS}-day backfill, then {runs} daily runs, "
        f"each fetching again the {REFETCH_DAYS} days before its day (PIPELINE_REFETCH_DAYS), "
        f"every range committed in batches of {BATCH} clients (PIPELINE_BATCH_CLIENTS) through "
        "`load_usage`, the one-transaction replace a run's batch commits, with four categories "
        f"a client-day: {commits} commits. They land within minutes, not months, so the "
        "maintenance's now is moved: the first run at the last commit's time (the 90-day "
        "retention keeps every snapshot: compaction alone), the second a week later with a "
        "retention of one day (a lake older than its retention). Files and MB: everything under "
        "the data folder; a scan is `SELECT sum(total_price) FROM usage_daily` on the latest "
        "snapshot, best of three."
    )
    return section(
        "Maintenance (`warehouse_maintenance`)",
        what,
        table(headers, rows),
        notes,
    )
