"""Maintenance on a real lake with a history of small commits and a closed month, on both kinds of
lake (the `lake_env` fixture): it compacts the files, expires what the retention lets go but never
a snapshot a statement records, changes no row of any kept snapshot, and deletes the files no
kept snapshot needs once they have waited out the grace. Every "now" is a snapshot's own time plus
an offset, so the test means the same whatever the date."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from warehouse.lake_history import (
    DRAFT,
    INVOICED,
    build_history,
    contents,
    folder_files,
    july_lines,
    snapshot_ids,
    snapshot_time,
)

from pipeline.settings import Settings
from pipeline.warehouse import Snapshot, Warehouse
from pipeline.warehouse.maintenance import Stored, maintain
from pipeline.warehouse.store import is_s3

RETENTION = timedelta(days=1)


def stored_files(wh: Warehouse, request: pytest.FixtureRequest) -> dict[str, int]:
    """What the data path holds, listed by the storage itself (not by DuckDB): path -> bytes."""
    if is_s3(wh.data_path):
        bucket = wh.data_path.removeprefix("s3://").split("/")[0]
        return request.getfixturevalue("s3").objects(bucket)
    return folder_files(wh)


def referenced_files(wh: Warehouse) -> set[str]:
    """The data and delete files every kept snapshot reads, by the catalog."""
    with wh.read() as con:
        tables = [
            t
            for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'warehouse'"
            ).fetchall()
        ]
        files: set[str] = set()
        for (snapshot,) in con.execute("SELECT snapshot_id FROM warehouse.snapshots()").fetchall():
            for table in tables:
                listed = con.execute(
                    "SELECT data_file, delete_file FROM ducklake_list_files('warehouse', ?, "
                    "snapshot_version => ?)",
                    [table, snapshot],
                ).fetchall()
                files |= {path for row in listed for path in row if path is not None}
    return files


def usage_files(wh: Warehouse) -> int:
    """Data plus delete files a read of usage_daily opens now."""
    with wh.read() as con:
        [(data, deletes)] = con.execute(
            "SELECT file_count, delete_file_count FROM ducklake_table_info('warehouse') "
            "WHERE table_name = 'usage_daily'"
        ).fetchall()
    return int(data) + int(deletes)


def latest_time(wh: Warehouse) -> datetime:
    return snapshot_time(wh, snapshot_ids(wh)[-1][0])


def test_maintenance_compacts_expires_and_keeps_every_statements_snapshot(lake_env, request):
    wh = Settings.from_env(lake_env).lake()
    history = build_history(wh)
    statement = Snapshot(version=history.statement_snapshot)
    window_start = history.refreshes_after_close[2]
    latest, at_statement = contents(wh), contents(wh, statement)
    at_window_start = contents(wh, Snapshot(version=window_start))
    invoiced = july_lines(wh, INVOICED)
    stored, usage_files_before = stored_files(wh, request), usage_files(wh)

    # The retention window begins at the third refresh after the close.
    first = maintain(wh, RETENTION, now=snapshot_time(wh, window_start) + RETENTION)

    kept = [s for (s,) in snapshot_ids(wh)]
    assert [s for s in kept if s < window_start] == [history.statement_snapshot]
    assert set(history.refreshes_after_close[2:]) <= set(kept)
    assert first.snapshots_expired == window_start - 1  # snapshots 0 .. window_start - 1
    assert first.statement_snapshots == 1
    assert first.before == Stored(len(stored), sum(stored.values()))
    assert first.rows_flushed > 0 and first.files_rewritten > 0 and first.files_merged > 0
    assert usage_files(wh) < usage_files_before
    # What this run freed waits out the grace (a reader may be on it): nothing deleted yet.
    assert first.files_deleted == 0
    assert set(stored) <= set(stored_files(wh, request))
    assert contents(wh) == latest
    assert contents(wh, statement) == at_statement
    assert contents(wh, Snapshot(version=window_start)) == at_window_start
    as_of = snapshot_time(wh, window_start).isoformat()
    assert contents(wh, Snapshot(timestamp=as_of)) == at_window_start

    # The next week's run: every snapshot older than the retention goes, but the statement's.
    before_second = stored_files(wh, request)
    second = maintain(wh, RETENTION, now=latest_time(wh) + timedelta(days=7))

    assert [s for (s,) in snapshot_ids(wh)] == [history.statement_snapshot, wh.latest_snapshot()]
    assert contents(wh) == latest
    assert contents(wh, statement) == at_statement
    assert july_lines(wh, DRAFT, statement) == invoiced != july_lines(wh, DRAFT)
    on_disk = stored_files(wh, request)
    assert set(on_disk) == referenced_files(wh)
    assert second.files_deleted == len(set(before_second) - set(on_disk)) > 0
    assert second.after == Stored(len(on_disk), sum(on_disk.values()))
    # Fewer files; not always fewer bytes on a lake this small: the statement's snapshot keeps
    # the small files it reads, beside the merged ones the latest reads.
    assert second.after.files < first.before.files

    # Run again at once: nothing to compact, expire or delete, so no snapshot and no change.
    snapshots = snapshot_ids(wh)
    again = maintain(wh, RETENTION, now=latest_time(wh) + timedelta(days=7))
    assert snapshot_ids(wh) == snapshots
    assert again.before == again.after == second.after
    assert (again.snapshots_expired, again.files_merged, again.files_deleted) == (0, 0, 0)
    assert contents(wh) == latest
