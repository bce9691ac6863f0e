"""PIPELINE_DUCKDB_THREADS sets DuckDB's threads on every connection to the lake; unset, DuckDB
keeps its own default (one per core); a value that is not a thread count is one line."""

from __future__ import annotations

import duckdb
import pytest

from pipeline.warehouse import Warehouse, WarehouseError
from pipeline.warehouse.store import THREADS_VARIABLE


@pytest.fixture
def lake(wh: Warehouse) -> Warehouse:
    with wh.write():  # creates the catalog and its schema
        pass
    return wh


def connection_threads(wh: Warehouse, read_only: bool) -> int:
    con = wh.connect(read_only=read_only)
    try:
        [(threads,)] = con.execute("SELECT current_setting('threads')").fetchall()
    finally:
        con.close()
    return int(threads)


def test_each_connection_takes_the_threads_the_process_asks_for(lake, monkeypatch) -> None:
    for threads in (3, 1):
        monkeypatch.setenv(THREADS_VARIABLE, str(threads))
        assert connection_threads(lake, read_only=False) == threads
        assert connection_threads(lake, read_only=True) == threads
    monkeypatch.delenv(THREADS_VARIABLE)
    [(default,)] = duckdb.connect().execute("SELECT current_setting('threads')").fetchall()
    assert connection_threads(lake, read_only=True) == int(default)


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5", "1025"])
def test_a_bad_thread_count_is_one_line(lake, monkeypatch, text) -> None:
    monkeypatch.setenv(THREADS_VARIABLE, text)
    with pytest.raises(WarehouseError) as raised:
        lake.connect(read_only=True)
    assert str(raised.value) == (
        f"{THREADS_VARIABLE}={text!r} is not a number of threads from 1 to 1024; "
        "unset it for one per core"
    )
