"""Reading the lake as it was (`query --as-of`), snapshots tagged with their run, the SQL and the
Python connection analysts attach with, and `migrate` from a single-file warehouse of the previous
release (its DDL kept in previous_release/, as sql/tables was at commit 2cb31b5)."""

import json
import subprocess
import sys
from datetime import UTC
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from warehouse.wh_frames import CLIENTS, T0, client, day, frame, usage_load

from pipeline.connect import connect_sql, open_warehouse
from pipeline.query import run_query
from pipeline.warehouse import Snapshot, Warehouse, WarehouseError, load_clients, load_usage
from pipeline.warehouse.extensions import UNVERIFIED_LOAD, load_extensions
from pipeline.warehouse.migrate import migrate_single_file

D0 = T0.date()
PREVIOUS_RELEASE = Path(__file__).parent / "previous_release"


def revised(wh: Warehouse) -> tuple[int, int]:
    """A day loaded, then revised: the snapshot ids just after each."""
    load_usage(wh, **usage_load(["a"], D0, D0, [day("a", D0, "1.5")]))
    first = wh.latest_snapshot()
    load_usage(wh, **usage_load(["a"], D0, D0, [day("a", D0, "2.25")]))
    return first, wh.latest_snapshot()


def test_as_of_a_snapshot_reads_the_figures_before_their_revision(wh, capsys):
    first, second = revised(wh)
    sql = "select total_price from usage_daily"
    assert run_query(sql, wh, 10, snapshot=Snapshot(version=first)) == 0
    assert "1.5" in capsys.readouterr().out
    assert run_query(sql, wh, 10, snapshot=Snapshot(version=second)) == 0
    assert "2.25" in capsys.readouterr().out


def test_as_of_a_timestamp_through_the_cli(wh, tmp_path):
    first, _ = revised(wh)
    with wh.read() as con:
        [(moment,)] = con.execute(
            "SELECT snapshot_time FROM warehouse.snapshots() WHERE snapshot_id = ?", [first]
        ).fetchall()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "query",
            "--warehouse",
            str(wh.path),
            "--as-of",
            moment.astimezone(UTC).isoformat(),
            "select total_price from usage_daily",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "1.5" in result.stdout and "2.25" not in result.stdout


@pytest.mark.parametrize(
    "snapshot", [Snapshot(version=10_000), Snapshot(timestamp="2001-01-01T00:00:00+00:00")]
)
def test_a_snapshot_the_lake_never_had_is_one_line(wh, snapshot):
    revised(wh)
    with pytest.raises(WarehouseError, match="cannot open the warehouse") as refused:
        run_query("select 1", wh, 10, snapshot=snapshot)
    assert "\n" not in str(refused.value)


def test_every_commit_of_a_run_is_tagged_with_its_run_id(wh):
    tagged = wh.for_run("run-1234")
    load_clients(tagged, frame(CLIENTS, [client("a")]), T0)
    load_usage(tagged, **usage_load(["a"], D0, D0, [day("a", D0, "1")]))
    load_usage(wh, **usage_load(["a"], D0, D0, [day("a", D0, "2")]))  # another writer
    with wh.read() as con:
        rows = con.execute(
            "SELECT snapshot_id, author, commit_extra_info FROM warehouse.snapshots() "
            "WHERE commit_extra_info IS NOT NULL ORDER BY snapshot_id"
        ).fetchall()
    runs = [json.loads(info)["run_id"] for _, _, info in rows]
    assert runs == ["run-1234", "run-1234"]
    assert {author for _, author, _ in rows} == {"pipeline"}
    assert wh.run_snapshot("run-1234") == rows[-1][0] < wh.latest_snapshot()


def test_connect_sql_attaches_the_lake_read_only_in_a_plain_duckdb(wh):
    revised(wh)
    text = connect_sql({"PIPELINE_WAREHOUSE": str(wh.path)})
    assert "INSTALL ducklake" in text and "READ_ONLY" in text
    con = duckdb.connect(config=UNVERIFIED_LOAD)
    # This machine cannot download extensions: the wheels stand in for INSTALL/LOAD.
    load_extensions(con, wh.extensions())
    for line in text.splitlines():
        if not line.startswith(("--", "INSTALL")):
            con.execute(line)
    assert con.execute("SELECT total_price FROM usage_daily").fetchall() == [(Decimal("2.25"),)]
    with pytest.raises(duckdb.Error, match="read-only"):
        con.execute("DELETE FROM usage_daily")


def test_connect_sql_leaves_credentials_as_placeholders():
    env = {
        "PIPELINE_WAREHOUSE": "postgres:host=db.example dbname=finance user=analyst",
        "PIPELINE_DATA_PATH": "s3://lake/data/",
        "PGPASSWORD": "pg-secret-value",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEY",
        "AWS_SECRET_ACCESS_KEY": "aws-secret-value",
        "AWS_REGION": "eu-central-1",
    }
    text = connect_sql(env)
    for secret in ("pg-secret-value", "AKIAEXAMPLEKEY", "aws-secret-value"):
        assert secret not in text
    assert "${AWS_ACCESS_KEY_ID}" in text and "${AWS_SECRET_ACCESS_KEY}" in text
    assert "PGPASSWORD" in text and "ducklake:postgres:host=db.example" in text
    # No Postgres secret: its placeholder text would override libpq's PGPASSWORD.
    assert "TYPE postgres" not in text


def test_open_warehouse_is_read_only_and_selects_the_warehouse(wh):
    revised(wh)
    con = open_warehouse(env={"PIPELINE_WAREHOUSE": str(wh.path)})
    try:
        assert con.execute("SELECT current_database()").fetchall() == [("warehouse",)]
        assert con.execute("SELECT count(*) FROM usage_daily").fetchall() == [(1,)]
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("DELETE FROM usage_daily")
    finally:
        con.close()


def previous_release_warehouse(path: Path) -> Path:
    """A single-file warehouse as the previous release made it: its DDL, some rows."""
    with duckdb.connect(str(path)) as con:
        for ddl in sorted(PREVIOUS_RELEASE.glob("*.sql")):
            con.execute(ddl.read_text())
        con.execute(
            "INSERT INTO usage_daily VALUES ('a', ?, 'EUR', 10, 8, 2, 2, 0, 1.2345678901, ?), "
            "('b', ?, 'USD', 3, 3, 0, 0, 0, 0.5, ?)",
            [D0, T0, D0, T0],
        )
        con.execute(
            "INSERT INTO usage_by_category VALUES "
            "('a', ?, 'EUR', 'marketing', 'pricing', 10, 8, 1.2345678901, ?)",
            [D0, T0],
        )
        con.execute("INSERT INTO usage_coverage VALUES ('a', ?, ?), ('b', ?, ?)", [D0, T0, D0, T0])
        con.execute(
            "INSERT INTO clients_history (client_id, status, observed_at) "
            "VALUES ('a', 'active', ?)",
            [T0],
        )
    return path


def test_migrate_moves_a_previous_release_warehouse_with_rows_and_sums_equal(wh, tmp_path):
    old = previous_release_warehouse(tmp_path / "old.duckdb")
    moved = {table.table: table for table in migrate_single_file(wh, old)}
    assert moved["usage_daily"].rows == 2
    assert moved["usage_daily"].sums["total_price"] == Decimal("1.7345678901")
    assert moved["usage_by_category"].rows == 1 and moved["usage_coverage"].rows == 2
    with wh.read() as con:
        assert con.execute(
            "SELECT client_id, total_price FROM usage_daily ORDER BY 1"
        ).fetchall() == [("a", Decimal("1.2345678901")), ("b", Decimal("0.5"))]
        assert con.execute("SELECT removed FROM clients_history").fetchall() == [(False,)]
    # Again: the same lake, nothing doubled.
    migrate_single_file(wh, old)
    with wh.read() as con:
        assert con.execute("SELECT count(*) FROM usage_daily").fetchall() == [(2,)]


def test_migrate_through_the_cli_prints_each_table(wh, tmp_path):
    old = previous_release_warehouse(tmp_path / "old.duckdb")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path)}
    env["PIPELINE_WAREHOUSE"] = str(wh.path)
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "migrate", "--from", str(old)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "usage_daily: 2 rows, total_price 1.7345678901" in result.stdout


def test_migrate_refuses_a_column_the_lake_lacks_and_moves_nothing(wh, tmp_path):
    old = previous_release_warehouse(tmp_path / "old.duckdb")
    with duckdb.connect(str(old)) as con:
        con.execute("ALTER TABLE usage_daily ADD COLUMN discount DECIMAL(38, 10)")
    revised(wh)
    before = wh.latest_snapshot()
    with pytest.raises(WarehouseError, match=r"usage_daily has columns \['discount'\]"):
        migrate_single_file(wh, old)
    assert wh.latest_snapshot() == before
