"""DuckLake's own maintenance of the warehouse: fewer, larger files, and snapshots kept as long as
the retention says, except those a closed statement records, which are kept for good.

Every commit of a run adds a few small parquet files per table (a batch is a few hundred rows), and
the next day's refetch deletes most rows of the last ones; every snapshot keeps the files it saw.
So DuckLake's own functions run (its CHECKPOINT runs them too, but cannot be told to spare a
snapshot), compaction before expiry so the files it replaces can go with the snapshots that read
them, and rewrite before merge so rewritten files are merged too:
1. rows small commits inlined in the catalog are flushed into parquet files;
2. files with at least REWRITE_DELETED_SHARE of their rows deleted are rewritten without them;
3. adjacent small files of a table are merged into files of DuckLake's target size (a merged file
   records each row's snapshot, so reading an older snapshot still finds its rows);
4. snapshots superseded before the retention window began are expired, so `query --as-of` reads
   any moment of the window; a snapshot a statement records is never expired;
5. files no kept snapshot needs, and files no commit recorded (an interrupted write's), are
   deleted once FILE_GRACE old.
Each step is a transaction of its own: DuckLake refuses a compaction in a transaction that also
changes data, and a compaction sees another one's files only once that one has committed. A run
stopped halfway leaves a whole lake, and the next run takes up the rest.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from pipeline import clock
from pipeline.warehouse.errors import WarehouseError
from pipeline.warehouse.store import CATALOG, Warehouse, error_text

REWRITE_DELETED_SHARE = 0.5
"""A file whose rows are half deleted costs a read of both it and its delete file for what one
file half its size would hold. DuckLake's default (0.95) would never rewrite the files of a daily
run, each of which the next day's refetch deletes about three quarters of."""
FILE_GRACE = timedelta(days=2)
"""How long a file no snapshot needs stays (DuckLake's own default): a reader whose transaction
began before this run may still be reading it, and a writer's files wait, uncommitted, for its
commit. Files freed by one weekly run are so deleted by the next."""

# Snapshots no reader needs: ones superseded (by the next snapshot) before the cutoff, since
# `--as-of T` reads the latest snapshot at or before T, except every one a statement records.
# The latest snapshot has no successor and so is always kept.
_EXPIRABLE = f"""
    SELECT snapshot_id FROM (
        SELECT snapshot_id, lead(snapshot_time) OVER (ORDER BY snapshot_id) AS superseded_at
        FROM {CATALOG}.snapshots()
    )
    WHERE superseded_at <= ?
      AND snapshot_id NOT IN (SELECT snapshot_id FROM statements WHERE snapshot_id IS NOT NULL)
    ORDER BY snapshot_id
"""


@dataclass(frozen=True)
class Stored:
    """What the lake's data path holds: its files and their bytes."""

    files: int
    bytes: int


@dataclass(frozen=True)
class MaintenanceResult:
    before: Stored
    after: Stored
    readable_from: datetime
    """`query --as-of` reads any moment from here on (and every statement's snapshot)."""
    snapshots_expired: int
    snapshots_kept: int
    statement_snapshots: int
    """Snapshots kept because a closed statement records them, whatever their age."""
    rows_flushed: int
    files_rewritten: int
    files_merged: int
    files_deleted: int


def maintain(
    wh: Warehouse, retention: timedelta, *, now: datetime | None = None
) -> MaintenanceResult:
    """Compact the lake, expire what `retention` lets go, delete the files freed; see above."""
    moment = now or clock.now()
    cutoff = moment - retention
    with wh.writer() as con:
        before = _stored(con, wh.data_path)
        with _step(wh, con, "flush inlined data"):
            flushed = con.execute("CALL ducklake_flush_inlined_data(?)", [CATALOG]).fetchall()
        with _step(wh, con, "rewrite files with deletes"):
            rewritten = con.execute(
                "CALL ducklake_rewrite_data_files(?, delete_threshold => ?)",
                [CATALOG, REWRITE_DELETED_SHARE],
            ).fetchall()
        with _step(wh, con, "merge adjacent files"):
            merged = con.execute("CALL ducklake_merge_adjacent_files(?)", [CATALOG]).fetchall()
        with _step(wh, con, "expire snapshots"):
            expired = [int(s) for (s,) in con.execute(_EXPIRABLE, [cutoff]).fetchall()]
            if expired:
                con.execute(
                    "CALL ducklake_expire_snapshots(?, versions => ?)", [CATALOG, expired]
                ).fetchall()
        with _step(wh, con, "delete unused files"):
            deleted = [
                *con.execute(
                    "CALL ducklake_cleanup_old_files(?, older_than => ?)",
                    [CATALOG, moment - FILE_GRACE],
                ).fetchall(),
                *con.execute(
                    "CALL ducklake_delete_orphaned_files(?, older_than => ?)",
                    [CATALOG, moment - FILE_GRACE],
                ).fetchall(),
            ]
        kept, cited = con.execute(
            "SELECT count(*), count(*) FILTER (snapshot_id IN "
            f"(SELECT snapshot_id FROM statements)) FROM {CATALOG}.snapshots()"
        ).fetchall()[0]
        after = _stored(con, wh.data_path)
    return MaintenanceResult(
        before=before,
        after=after,
        readable_from=cutoff,
        snapshots_expired=len(expired),
        snapshots_kept=int(kept),
        statement_snapshots=int(cited),
        rows_flushed=sum(int(row[2]) for row in flushed),
        files_rewritten=sum(int(row[2]) for row in rewritten),
        files_merged=sum(int(row[2]) for row in merged),
        files_deleted=len(deleted),
    )


@contextlib.contextmanager
def _step(wh: Warehouse, con: duckdb.DuckDBPyConnection, what: str) -> Iterator[None]:
    """One transaction, committed as a snapshot `maintenance: <what>` if it changed the lake's
    data (a compaction that found nothing to do commits none); a failure is one line."""
    try:
        con.execute("BEGIN TRANSACTION")
        yield
    except duckdb.Error as error:
        raise WarehouseError(
            f"warehouse maintenance failed to {what}: {error_text(error)}"
        ) from None
    wh.commit(con, f"maintenance: {what}")


def _stored(con: duckdb.DuckDBPyConnection, data_path: str) -> Stored:
    # read_blob reads no file's content when only its size is asked for (a listing, on S3 too).
    files, size = con.execute(
        "SELECT count(*), coalesce(sum(size), 0) FROM read_blob(?)", [f"{data_path}**"]
    ).fetchall()[0]
    return Stored(int(files), int(size))
