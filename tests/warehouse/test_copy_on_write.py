import subprocess
import sys
import threading
from datetime import date, timedelta

import pytest
from filelock import FileLock
from warehouse.wh_frames import day, usage_load

from pipeline.warehouse import (
    DEFAULT_SQL_DIR,
    Warehouse,
    WarehouseBusyError,
    WarehouseError,
    load_usage,
)

D0 = date(2024, 3, 1)
READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
count = lambda: con.execute("SELECT count(*) FROM usage_daily").fetchall()[0][0]
print(count(), flush=True)
sys.stdin.readline()
print(count(), flush=True)
"""


def load_days(wh, client_id: str, n: int) -> None:
    days = [D0 + timedelta(days=i) for i in range(n)]
    load_usage(
        wh, **usage_load([client_id], days[0], days[-1], [day(client_id, d, "1") for d in days])
    )


def count_rows(wh) -> int:
    with wh.read() as con:
        return con.execute("SELECT count(*) FROM usage_daily").fetchall()[0][0]


def leftovers(wh) -> list[str]:
    return sorted(
        p.name
        for p in wh.path.parent.iterdir()
        if p.name != wh.path.name and p.name != wh.lock_path.name
    )


def test_first_write_creates_every_table_and_view_and_nothing_else(wh):
    load_days(wh, "a", 1)
    with wh.read() as con:
        kinds = con.execute(
            "SELECT table_type, table_name FROM information_schema.tables"
        ).fetchall()
    tables = {name for kind, name in kinds if kind == "BASE TABLE"}
    views = {name for kind, name in kinds if kind == "VIEW"}
    assert views == {p.stem for p in (DEFAULT_SQL_DIR / "views").glob("*.sql")}
    assert tables == {p.stem for p in (DEFAULT_SQL_DIR / "tables").glob("*.sql")}
    assert {"usage_daily", "usage_coverage", "raw_balance_fetches", "usage_monthly_api"} <= tables
    assert leftovers(wh) == []


def test_error_inside_the_write_leaves_the_published_file_byte_identical(wh):
    load_days(wh, "a", 3)
    before = wh.path.read_bytes()
    with pytest.raises(RuntimeError, match="boom"), wh.write() as con:
        con.execute("DELETE FROM usage_daily")
        raise RuntimeError("boom")
    assert wh.path.read_bytes() == before
    assert count_rows(wh) == 3
    assert leftovers(wh) == []


def test_reader_in_another_process_neither_blocks_a_write_nor_sees_it(wh):
    load_days(wh, "a", 2)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(wh.path)],
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert reader.stdout.readline().strip() == "2"
        load_days(wh, "b", 5)  # the analyst still holds the file open read-only
        assert count_rows(wh) == 7  # a new reader sees the new data
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "2"  # the old reader keeps its snapshot
    finally:
        reader.stdin.close()
        reader.wait(timeout=10)


def test_reader_open_in_this_process_does_not_hide_the_new_data(wh):
    load_days(wh, "a", 2)
    with wh.read() as old:
        load_days(wh, "b", 1)
        assert count_rows(wh) == 3
        assert old.execute("SELECT count(*) FROM usage_daily").fetchall() == [(2,)]


def test_concurrent_writers_are_serialised_without_lost_updates(wh):
    load_days(wh, "seed", 1)
    errors: list[BaseException] = []

    def write(client_id: str) -> None:
        try:
            load_days(Warehouse(wh.path), client_id, 3)
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(f"c{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with wh.read() as con:
        per_client = dict(
            con.execute("SELECT client_id, count(*) FROM usage_daily GROUP BY ALL").fetchall()
        )
    assert per_client == {"seed": 1, "c0": 3, "c1": 3, "c2": 3, "c3": 3}
    assert leftovers(wh) == []


def test_writer_waiting_too_long_for_the_lock_gets_one_busy_line(wh):
    load_days(wh, "a", 1)
    before = wh.path.read_bytes()
    impatient = Warehouse(wh.path, lock_timeout_seconds=0.2)
    with FileLock(wh.lock_path), pytest.raises(WarehouseBusyError) as error:
        load_days(impatient, "b", 1)
    assert "\n" not in str(error.value) and "try again" in str(error.value)
    assert wh.path.read_bytes() == before


def test_abandoned_staging_files_are_removed_by_the_next_write(wh):
    load_days(wh, "a", 1)
    abandoned = wh.path.with_name(wh.path.name + ".staging-dead")
    abandoned.write_bytes(b"half a file")
    load_days(wh, "b", 1)
    assert not abandoned.exists()


@pytest.mark.parametrize("kind", ["parent is a file", "path is a folder"])
def test_unwritable_warehouse_path_is_one_line_before_anything_is_touched(tmp_path, kind):
    if kind == "parent is a file":
        (tmp_path / "plain").write_text("x")
        path = tmp_path / "plain" / "warehouse.duckdb"
    else:
        path = tmp_path / "folder.duckdb"
        path.mkdir()
    with pytest.raises(WarehouseError) as error:
        load_days(Warehouse(path), "a", 1)
    assert "\n" not in str(error.value) and str(path.parent) in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["plain"] if kind == "parent is a file" else ["folder.duckdb"]
    )


def test_reading_a_warehouse_that_does_not_exist_is_one_line(wh):
    with pytest.raises(WarehouseError, match=r"no warehouse at .* yet"), wh.read():
        pass


def test_a_wal_left_beside_the_published_file_is_refused_not_dropped(wh):
    load_days(wh, "a", 1)
    wal = wh.path.with_name(wh.path.name + ".wal")
    wal.write_bytes(b"someone wrote here directly")
    with pytest.raises(WarehouseError, match="fold it in"):
        load_days(wh, "b", 1)
    assert wal.exists() and count_rows(wh) == 1


HOLDER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])  # read-write, as an analyst's tool might
con.execute("CREATE TABLE analyst_notes (note VARCHAR)")
print("holding", flush=True)
sys.stdin.readline()
con.execute("INSERT INTO analyst_notes VALUES ('kept')")
con.close()
"""


def test_a_read_write_holder_is_detected_and_nothing_is_swapped_under_it(wh):
    load_days(wh, "a", 2)
    before = wh.path.read_bytes()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(wh.path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(WarehouseBusyError) as caught:
            load_days(wh, "b", 2)
        message = str(caught.value)
        assert f"is open read-write in process {holder.pid}" in message
        assert "\n" not in message
        holder.communicate("go\n", timeout=30)
    finally:
        holder.kill()
    # The holder's writes went into the file it held, which is still the published one.
    with wh.read() as con:
        assert con.execute("SELECT note FROM analyst_notes").fetchall() == [("kept",)]
        assert con.execute("SELECT DISTINCT client_id FROM usage_daily").fetchall() == [("a",)]
    assert wh.path.read_bytes() != before  # the holder's own change, not a swapped file
    load_days(wh, "b", 2)  # once it is gone, loads go on
    assert count_rows(wh) == 4


def test_a_path_where_no_file_can_be_created_fails_at_once_in_one_line(tmp_path):
    wh = Warehouse("/proc/warehouse.duckdb", lock_timeout_seconds=900)
    with pytest.raises(WarehouseError) as caught:
        wh.check_writable()
    message = str(caught.value)
    assert message.startswith("cannot create the lock file /proc/warehouse.duckdb.lock")
    assert "\n" not in message
