"""`python -m pipeline query` cannot write: each way out is tried on a real warehouse file."""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from warehouse.wh_frames import CLIENTS, T0, client, day, frame, usage_load

from pipeline.query import run_query
from pipeline.warehouse import Warehouse, load_clients, load_usage

D0 = T0.date()


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    wh = Warehouse(tmp_path_factory.mktemp("template") / "warehouse.duckdb")
    load_clients(wh, frame(CLIENTS, [client("a")]), T0)
    load_usage(wh, **usage_load(["a"], D0, D0, [day("a", D0, "1.5")]))
    return wh.path


@pytest.fixture
def warehouse(template, tmp_path, monkeypatch) -> Path:
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(template, path)
    # Relative paths in the SQL land here, and DuckDB's home (extensions, secrets) too.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "other.duckdb").write_bytes(b"")
    return path


def tree(root: Path) -> dict[str, str]:
    """Every file under root with a hash of its bytes."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def usage_rows(path: Path, capsys) -> str:
    assert run_query("select client_id, total_price from usage_daily", path, 10) == 0
    return capsys.readouterr().out


ESCAPES = {
    "copy to a file": ("copy (select 1) to 'leak.csv'", "file system operations are disabled"),
    "copy a table out": (
        "copy usage_daily to 'leak.parquet' (format parquet)",
        "file system operations are disabled",
    ),
    "copy over the warehouse": ("copy (select 1) to 'WH' (format csv)", "Cannot COPY"),
    "export database": ("export database 'dump'", "file system operations are disabled"),
    "attach another file": ("attach 'other.duckdb' as o", "file system operations are disabled"),
    "attach the warehouse read-write": ("attach 'WH' as rw (read_write)", "WH"),
    "memory, detach, attach rw, delete": (
        "use memory; detach warehouse; attach 'WH' as rw; delete from rw.usage_daily",
        "memory",
    ),
    "a new in-memory db to detach from": (
        "attach ':memory:' as m; use m; detach warehouse",
        "read-only mode",
    ),
    "delete": ("delete from usage_daily", "read-only"),
    "drop": ("drop table clients", "read-only"),
    "install": ("install httpfs", "file system operations are disabled"),
    "load": ("load httpfs", "disabled"),
    "load a file": ("load 'evil.duckdb_extension'", "disabled"),
    "external access back on": ("set enable_external_access = true", "locked"),
    "reset a setting": ("reset enable_external_access", "locked"),
    "unlock": ("set lock_configuration = false", "locked"),
    "profile to a file": ("set profiling_output = 'profile.json'", "locked"),
    "spill folder": ("set temp_directory = 'spill'", "locked"),
    "persistent secret": (
        "create persistent secret s (type s3, key_id 'k', secret 's')",
        "file system operations are disabled",
    ),
}


@pytest.mark.parametrize("name", ESCAPES)
def test_each_escape_is_refused_in_one_line_and_changes_nothing(warehouse, tmp_path, capsys, name):
    sql, message = ESCAPES[name]
    sql = sql.replace("WH", str(warehouse))
    before_rows, before_files = usage_rows(warehouse, capsys), tree(tmp_path)

    assert run_query(sql, warehouse, 10) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert message.replace("WH", str(warehouse)) in err

    assert tree(tmp_path) == before_files  # no file written, the warehouse byte for byte the same
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
        f"attach '{warehouse}' as rw; delete from rw.usage_daily"
    )
    result = cli("query", "--warehouse", str(warehouse), attack, cwd=tmp_path)

    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: Permission Error")
    assert tree(tmp_path) == before
    count = cli(
        "query",
        "--warehouse",
        str(warehouse),
        "select count(*) as n from usage_daily",
        cwd=tmp_path,
    )
    assert count.returncode == 0 and "│ 1   │" in count.stdout


@pytest.mark.parametrize("sql", ["", "   ", "-- only a comment"])
def test_an_empty_query_is_one_line(warehouse, capsys, sql):
    assert run_query(sql, warehouse, 10) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the query is empty; ") and err.count("\n") == 1


def test_an_empty_query_through_the_cli_is_one_line(warehouse, tmp_path):
    result = cli("query", "--warehouse", str(warehouse), "", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: the query is empty; ")
    assert result.stderr.count("\n") == 1


def test_reading_still_works_with_utc_timestamps(warehouse, capsys):
    assert run_query("select fetched_at, total_price from usage_daily", warehouse, 10) == 0
    out = capsys.readouterr().out
    assert "2024-03-01 06:00:00 UTC" in out and "1.5" in out
