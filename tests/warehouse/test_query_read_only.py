"""`python -m pipeline query` cannot write: each way out is tried on a real warehouse (a DuckLake
with a SQLite catalog, its data files in a folder beside it)."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from warehouse.wh_frames import CLIENTS, T0, client, day, frame, usage_load

from pipeline.query import run_query
from pipeline.warehouse import Warehouse, load_clients, load_usage

D0 = T0.date()


@pytest.fixture
def warehouse(tmp_path, monkeypatch) -> Warehouse:
    # Built in each test's folder: the catalog records where its data files are, so a copy of a
    # lake elsewhere would still point at the original's files.
    wh = Warehouse(tmp_path / "warehouse.sqlite")
    load_clients(wh, frame(CLIENTS, [client("a")]), T0)
    # Past the inlining limit, so usage_daily is a parquet file the query has to read.
    days = [day(f"c{n}", D0, "1.5") for n in range(20)]
    load_usage(wh, **usage_load([f"c{n}" for n in range(20)], D0, D0, days))
    # Relative paths in the SQL land here, and DuckDB's home (extensions, secrets) too.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "other.duckdb").write_bytes(b"")
    return wh


def tree(root: Path) -> dict[str, str]:
    """Every file under root with a hash of its bytes, but SQLite's shared-memory index and WAL
    of the catalog, which any reader of a catalog in WAL mode creates (a write would show in the
    snapshot and the rows, which the tests compare too)."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.endswith(("-shm", "-wal"))
    }


def usage_rows(wh: Warehouse, capsys) -> str:
    assert run_query("select client_id, total_price from usage_daily", wh, 10) == 0
    return capsys.readouterr().out


REFUSED = "statements are refused; only queries (SELECT, EXPLAIN) run"
ESCAPES = {
    "copy to a file": ("copy (select 1) to 'leak.csv'", REFUSED),
    "copy a table out": ("copy usage_daily to 'leak.parquet' (format parquet)", REFUSED),
    "copy into the data folder": ("copy (select 1) to 'warehouse.files/x.csv'", REFUSED),
    "copy over the catalog": ("copy (select 1) to 'WH' (format csv)", REFUSED),
    "export database": ("export database 'dump'", REFUSED),
    "attach another file": ("attach 'other.duckdb' as o", REFUSED),
    "attach the lake read-write": ("attach 'ducklake:sqlite:WH' as rw", REFUSED),
    "attach the catalog read-write": ("attach 'WH' as rw (type sqlite)", REFUSED),
    "memory, detach, attach rw, delete": (
        "use memory; detach warehouse; attach 'ducklake:sqlite:WH' as rw; "
        "delete from rw.usage_daily",
        REFUSED,
    ),
    "delete": ("delete from usage_daily", REFUSED),
    "drop": ("drop table clients", REFUSED),
    "a maintenance call": (
        "call ducklake_expire_snapshots('warehouse', older_than => now())",
        REFUSED,
    ),
    "install": ("install httpfs", REFUSED),
    "load": ("load httpfs", REFUSED),
    "external access back on": ("set enable_external_access = true", REFUSED),
    "reset a setting": ("reset enable_external_access", REFUSED),
    "persistent secret": ("create persistent secret s (type s3, key_id 'k', secret 's')", REFUSED),
    # Queries that reach outside the lake, or write: DuckDB's own settings refuse them.
    "read another file": ("select * from read_csv('other.duckdb')", "file system operations"),
    "a settings function": ("select set_config('threads', '1')", "Scalar Function"),
}


@pytest.mark.parametrize("name", ESCAPES)
def test_each_escape_is_refused_in_one_line_and_changes_nothing(warehouse, tmp_path, capsys, name):
    sql, message = ESCAPES[name]
    sql = sql.replace("WH", str(warehouse.path))
    before_rows, before_files = usage_rows(warehouse, capsys), tree(tmp_path)
    before_snapshot = warehouse.latest_snapshot()

    assert run_query(sql, warehouse, 10) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert message in err

    assert tree(tmp_path) == before_files  # no file written, the catalog byte for byte the same
    assert warehouse.latest_snapshot() == before_snapshot
    assert usage_rows(warehouse, capsys) == before_rows and "1.5" in before_rows


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd), "DAGSTER_HOME": str(cwd)}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_reported_attack_through_the_cli_is_one_line_and_deletes_nothing(warehouse, tmp_path):
    before = tree(tmp_path)
    attack = (
        "copy (select 1) to 'leak.csv'; use memory; detach warehouse; "
        f"attach 'ducklake:sqlite:{warehouse.path}' as rw; delete from rw.usage_daily"
    )
    result = cli("query", "--warehouse", str(warehouse.path), attack, cwd=tmp_path)

    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and REFUSED in result.stderr
    assert tree(tmp_path) == before
    count = cli(
        "query",
        "--warehouse",
        str(warehouse.path),
        "select count(*) as n from usage_daily",
        cwd=tmp_path,
    )
    assert count.returncode == 0 and "│ 20 │" in count.stdout


@pytest.mark.parametrize("sql", ["", "   ", "-- only a comment"])
def test_an_empty_query_is_one_line(warehouse, capsys, sql):
    assert run_query(sql, warehouse, 10) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the query is empty; ") and err.count("\n") == 1


def test_an_empty_query_through_the_cli_is_one_line(warehouse, tmp_path):
    result = cli("query", "--warehouse", str(warehouse.path), "", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: the query is empty; ")
    assert result.stderr.count("\n") == 1


def test_reading_still_works_with_utc_timestamps(warehouse, capsys):
    assert run_query("select fetched_at, total_price from usage_daily", warehouse, 10) == 0
    out = capsys.readouterr().out
    assert "2024-03-01 06:00:00 UTC" in out and "1.5" in out
