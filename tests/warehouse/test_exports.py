import os
import signal
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from filelock import FileLock
from warehouse.wh_frames import CLIENTS, T0, category, client, day, frame, usage_load

from pipeline.settings import Settings
from pipeline.warehouse import (
    Warehouse,
    WarehouseBusyError,
    WarehouseError,
    export_parquet,
    load_clients,
    load_usage,
)
from pipeline.warehouse.exports import EXPORTED_VIEWS, prepare_export_dir

# One day in each of four months (a leap day among them): the exports are partitioned by month.
D = [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 1), date(2024, 4, 1)]
M = ["2024-01", "2024-02", "2024-03", "2024-04"]
FACTS = ["usage_by_category", "usage_by_channel_category", "usage_coverage", "usage_daily"]
FACTS += ["usage_daily_by_channel"]
SINGLE_FILES = [
    "balance_snapshots",
    "channels",
    "channels_history",
    "client_markups",
    "clients",
    "clients_history",
    "partner_balance_snapshots",
    "rate_cards",
    "statement_adjustments",
    "statement_lines",
    "statements",
    "usage_monthly_api",
]
VIEWS = list(EXPORTED_VIEWS)


@pytest.fixture
def loaded(wh):
    load_clients(wh, frame(CLIENTS, [client("a")]), T0)
    days = [day("a", d, f"0.000000000{i + 1}") for i, d in enumerate(D)]
    cats = [category("a", d, "marketing", f"0.000000000{i + 1}") for i, d in enumerate(D)]
    load_usage(wh, **usage_load(["a"], D[0], D[-1], days, cats))
    return wh


def revise(wh) -> None:
    """A second run's changes: a fetched again for D1..D2 (D1 revised, D2 without usage any more),
    and a new client b, so facts and single-file tables both change."""
    load_usage(wh, **usage_load(["a"], D[1], D[2], [day("a", D[1], "9")]))
    load_clients(wh, frame(CLIENTS, [client("a"), client("b")]), T0)


def partitions(root, table) -> list[str]:
    return sorted(p.name for p in (root / table).iterdir())


def months(*names: str) -> list[str]:
    return [f"usage_month={m}" for m in names]


def month_file(root: Path, table: str, month: str) -> Path:
    return root / table / f"usage_month={month}" / "data_0.parquet"


def read_back(root, table, sql: str) -> list[tuple]:
    glob = str(root / table / "**" / "*.parquet")
    with duckdb.connect() as con:
        return con.execute(sql.replace("EXPORTED", f"read_parquet('{glob}')")).fetchall()


def snapshot(root: Path) -> dict[str, list[tuple]]:
    """Every table as a reader sees it through root: all rows of all its parquet files."""
    tables = {}
    with duckdb.connect() as con:
        for folder in sorted(root.iterdir()):
            files = sorted(str(f) for f in folder.rglob("*.parquet"))
            tables[folder.name] = con.execute(
                "SELECT * FROM read_parquet(?, union_by_name = true) ORDER BY ALL", [files]
            ).fetchall()
    return tables


def versions(root: Path) -> set[str]:
    return {p.name for p in (root.parent / f".{root.name}.versions").iterdir()}


def test_facts_are_hive_partitioned_by_month_and_the_rest_single_files(loaded, tmp_path):
    root = tmp_path / "export"
    result = export_parquet(loaded, root)
    for table in ("usage_daily", "usage_by_category", "usage_coverage"):
        assert partitions(root, table) == months(*M)
        assert all(
            [f.name for f in (root / table / p).iterdir()] == ["data_0.parquet"]
            for p in partitions(root, table)
        )
    for table in ("usage_daily_by_channel", "usage_by_channel_category"):
        # No channel usage loaded: one schema-only file, so readers get columns, not "no files".
        assert partitions(root, table) == [f"{table}.parquet"]
        assert pq.read_metadata(root / table / f"{table}.parquet").num_rows == 0
    for table in SINGLE_FILES:
        assert partitions(root, table) == [f"{table}.parquet"]
    # Every write keeps the views in place, so the finance views are exported too.
    assert sorted(p.name for p in root.iterdir()) == sorted(FACTS + SINGLE_FILES + VIEWS)
    assert result.rows["usage_daily"] == 4 and result.rows["clients"] == 1
    assert result.rows["usage_monthly_api"] == 0 and result.rows["usage_daily_by_channel"] == 0
    assert (
        result.files_written == 3 * 4 + 2 + len(SINGLE_FILES) + len(VIEWS)
        and result.files_removed == 0
    )


def test_the_finance_views_are_exported_with_their_rows(loaded, tmp_path):
    root = tmp_path / "export"
    result = export_parquet(loaded, root)
    with loaded.read() as con:
        statement = con.execute(
            "SELECT month, cost, billable_amount FROM client_monthly_statement ORDER BY ALL"
        ).fetchall()
    assert len(statement) == 4 and result.rows["client_monthly_statement"] == 4
    assert (
        read_back(
            root,
            "client_monthly_statement",
            "SELECT month, cost, billable_amount FROM EXPORTED ORDER BY ALL",
        )
        == statement
    )


def test_export_dir_is_a_link_to_one_whole_version(loaded, tmp_path):
    root = tmp_path / "export"
    first = export_parquet(loaded, root)
    assert first.version is not None
    assert root.is_symlink() and root.resolve().name == first.version
    assert os.readlink(root) == f".export.versions/{first.version}"  # relative: movable
    assert versions(root) == {".lock", first.version}

    second = export_parquet(loaded, root)
    # The previous version stays for readers still reading it, until the next export.
    assert versions(root) == {".lock", first.version, second.version}
    third = export_parquet(loaded, root)
    assert versions(root) == {".lock", second.version, third.version}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".export.versions", "export", "wh"]


def test_parquet_keeps_column_names_and_exact_decimal_and_date_types(loaded, tmp_path):
    root = tmp_path / "export"
    export_parquet(loaded, root)
    schema = pq.read_schema(month_file(root, "usage_daily", M[0]))
    assert schema.field("total_price").type == pa.decimal128(38, 10)
    # usage_date is in the file, so no reader depends on the folder names for it.
    assert schema.field("usage_date").type == pa.date32()
    assert schema.names == [
        "client_id",
        "usage_date",
        "currency",
        "quantity",
        "paid_quantity",
        "free_quantity",
        "free_tier",
        "free_entry_point",
        "total_price",
        "fetched_at",
    ]
    empty = pq.read_schema(root / "usage_daily_by_channel" / "usage_daily_by_channel.parquet")
    assert empty.field("usage_date").type == pa.date32()
    assert empty.field("total_price").type == pa.decimal128(38, 10)
    assert empty.field("usage_month").type == pa.string()  # as the folders give it to readers
    clients = pq.read_schema(root / "clients" / "clients.parquet")
    assert clients.field("created_at").type == pa.timestamp("us", tz="UTC")
    snapshot = pq.read_schema(root / "balance_snapshots" / "balance_snapshots.parquet")
    assert snapshot.field("balance").type == pa.decimal128(38, 10)
    monthly = pq.read_schema(root / "usage_monthly_api" / "usage_monthly_api.parquet")
    assert monthly.field("total_price").type == pa.decimal128(38, 10)


def test_exported_totals_equal_the_table(loaded, tmp_path):
    root = tmp_path / "export"
    export_parquet(loaded, root)
    assert read_back(
        root, "usage_daily", "SELECT sum(total_price), typeof(min(usage_date)) FROM EXPORTED"
    ) == [(Decimal("0.0000000010"), "DATE")]
    with loaded.read() as con:
        table = con.execute(
            "SELECT usage_date, total_price FROM usage_daily ORDER BY ALL"
        ).fetchall()
    assert (
        read_back(root, "usage_daily", "SELECT usage_date, total_price FROM EXPORTED ORDER BY ALL")
        == table
    )


def test_range_export_rewrites_only_its_months_and_removes_emptied_ones(loaded, tmp_path):
    root = tmp_path / "export"
    export_parquet(loaded, root)
    untouched = {m: month_file(root, "usage_daily", m).stat() for m in (M[0], M[3])}
    revise(loaded)
    result = export_parquet(loaded, root, start=D[1], end=D[2])

    assert partitions(root, "usage_daily") == months(M[0], M[1], M[3])
    assert partitions(root, "usage_by_category") == months(M[0], M[3])
    assert partitions(root, "usage_coverage") == months(*M)
    for m, before in untouched.items():
        # The new version holds the very same file (a hard link), not a copy.
        after = month_file(root, "usage_daily", m).stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert read_back(
        root, "usage_daily", "SELECT usage_date, total_price FROM EXPORTED ORDER BY ALL"
    ) == [
        (D[0], Decimal("1E-10")),
        (D[1], Decimal("9")),
        (D[3], Decimal("4E-10")),
    ]
    assert result.files_removed == 3  # M2 of usage_daily, M1 and M2 of usage_by_category
    assert result.rows["usage_daily"] == 1 and result.rows["clients"] == 2
    # usage_daily M1 + usage_coverage M1, M2 + the two schema-only files + the single-file tables
    assert result.files_written == 3 + 2 + len(SINGLE_FILES) + len(VIEWS)


def test_a_range_inside_one_month_rewrites_that_whole_month(loaded, tmp_path):
    root = tmp_path / "export"
    load_usage(
        loaded,
        **usage_load(["a"], date(2024, 3, 2), date(2024, 3, 2), [day("a", date(2024, 3, 2), "5")]),
    )
    export_parquet(loaded, root)
    load_usage(loaded, **usage_load(["a"], D[2], D[2], [day("a", D[2], "7")]))
    result = export_parquet(loaded, root, start=D[2], end=D[2])
    # The month's file is written again whole: the day of the range and the day it keeps.
    assert result.rows["usage_daily"] == 2
    assert read_back(
        root,
        "usage_daily",
        "SELECT usage_date, total_price FROM EXPORTED WHERE usage_month = '2024-03' ORDER BY ALL",
    ) == [(D[2], Decimal("7")), (date(2024, 3, 2), Decimal("5"))]


def test_only_tables_the_warehouse_has_are_exported_and_a_new_one_is_written_whole(
    loaded, tmp_path
):
    with loaded.write() as con:  # a warehouse from before these tables (and the views on them)
        con.execute("DROP TABLE usage_daily_by_channel; DROP TABLE client_markups")
        for view in VIEWS:
            con.execute(f"DROP VIEW {view}")
    root = tmp_path / "export"
    export_parquet(loaded, root)
    assert "usage_daily_by_channel" not in os.listdir(root)
    assert "client_markups" not in os.listdir(root)

    with loaded.write() as con:  # every write creates the missing tables
        con.execute(
            "INSERT INTO usage_daily_by_channel VALUES "
            "('a', 'app-1', 'c1', ?, 'EUR', 10, 10, 0, 0.0000000001, ?), "
            "('a', 'app-1', 'c1', ?, 'EUR', 10, 10, 0, 0.0000000004, ?)",
            [D[0], T0, D[3], T0],
        )
    export_parquet(loaded, root, start=D[1], end=D[2])
    # Its months outside the range are exported too: the current version had nothing of it.
    assert partitions(root, "usage_daily_by_channel") == months(M[0], M[3])
    assert read_back(
        root, "usage_daily_by_channel", "SELECT usage_date, total_price FROM EXPORTED ORDER BY 1"
    ) == [(D[0], Decimal("1E-10")), (D[3], Decimal("4E-10"))]
    assert partitions(root, "client_markups") == ["client_markups.parquet"]


def test_a_table_that_gets_rows_loses_its_schema_only_file(loaded, tmp_path):
    root = tmp_path / "export"
    export_parquet(loaded, root)
    with loaded.write() as con:
        con.execute(
            # The client-day's whole cost, as channel rows always add up to it.
            "INSERT INTO usage_daily_by_channel VALUES ('a', 'app-1', 'c1', ?, 'EUR', 10, 10, 0,"
            " 0.0000000002, ?)",
            [D[1], T0],
        )
    result = export_parquet(loaded, root, start=D[1], end=D[1])
    assert partitions(root, "usage_daily_by_channel") == months(M[1])
    assert result.files_removed == 1  # the schema-only file


def test_a_channel_costing_more_than_its_client_still_exports(loaded, tmp_path):
    with loaded.write() as con:  # the API's channels add up to 5 billion times the client's day
        con.execute(
            "INSERT INTO usage_daily_by_channel VALUES ('a', 'app-1', 'c1', ?, 'EUR', 10, 10, 0,"
            " 0.5, ?)",
            [D[0], T0],
        )
    export_parquet(loaded, tmp_path / "export")
    assert read_back(
        tmp_path / "export", "channel_monthly_cost", "SELECT share_of_client_cost FROM EXPORTED"
    ) == [(Decimal("5000000000.0000"),)]


def test_a_folder_from_before_versioning_is_adopted_then_removed(loaded, tmp_path):
    root = tmp_path / "export"
    (root / "usage_daily" / "usage_month=2020-01").mkdir(parents=True)
    old = root / "usage_daily" / "usage_month=2020-01" / "data_0.parquet"
    pq.write_table(pa.table({"x": [1]}), old)
    (root / "usage_daily" / "usage_date=2020-01-01").mkdir()  # the day layout of before
    (root / "usage_daily" / "usage_date=2020-01-01" / "data_0.parquet").write_bytes(b"PAR1")
    (root / ".export-0123abcd").mkdir()  # debris of an export killed under the old scheme
    (root / ".export-0123abcd" / "half.parquet").write_bytes(b"PAR1")

    first = export_parquet(loaded, root, start=D[0], end=D[0])
    assert root.is_symlink()
    adopted = [v for v in versions(root) if v.endswith("-adopted")]
    assert versions(root) == {".lock", first.version, *adopted} and len(adopted) == 1
    # The old folder was the current version: its months out of range are carried over...
    assert partitions(root, "usage_daily") == months("2020-01", M[0])
    # ...tables it lacked are written whole, and its debris (or another layout) is not.
    assert partitions(root, "usage_by_category") == months(*M)
    assert not list(root.glob(".export-*"))

    second = export_parquet(loaded, root)
    assert versions(root) == {".lock", first.version, second.version}
    assert partitions(root, "usage_daily") == months(*M)


def test_an_operators_own_symlink_is_followed(loaded, tmp_path):
    shared = tmp_path / "volume" / "bi"
    shared.mkdir(parents=True)
    root = tmp_path / "export"
    root.symlink_to(shared)
    result = export_parquet(loaded, root)

    assert os.readlink(root) == str(shared)  # the operator's link is kept...
    assert shared.is_symlink() and result.export_dir == str(shared)  # ...ours is at its end
    assert (tmp_path / "volume" / ".bi.versions" / str(result.version)).is_dir()
    assert partitions(root, "usage_daily") == months(*M)


def test_half_given_range_is_refused(loaded, tmp_path):
    with pytest.raises(WarehouseError, match="needs both ends"):
        export_parquet(loaded, tmp_path / "export", start=D[0])


def test_export_folder_that_cannot_be_written_is_one_line(loaded, tmp_path):
    (tmp_path / "plain").write_text("x")
    with pytest.raises(WarehouseError, match="cannot write the export") as error:
        export_parquet(loaded, tmp_path / "plain" / "export")
    assert "\n" not in str(error.value)
    with pytest.raises(WarehouseError, match="is a file; choose a folder"):
        export_parquet(loaded, tmp_path / "plain")


def test_a_concurrent_export_waits_then_gives_up_in_one_line(loaded, tmp_path):
    root = tmp_path / "export"
    export_parquet(loaded, root)
    with (
        FileLock(tmp_path / ".export.versions" / ".lock"),
        pytest.raises(WarehouseBusyError, match="another export into"),
    ):
        export_parquet(loaded, root, lock_timeout_seconds=0.05)


# A child process exports D1..D2 and SIGKILLs itself at the n-th call of one step, before or
# after the step runs: the steps are the module's own, so each point is hit exactly.
CHILD = """
import os, signal, sys
from datetime import date
from pipeline.settings import Settings
from pipeline.warehouse import export_parquet, exports

warehouse, root, owner, name, nth, when, start, end = sys.argv[1:]
module = os if owner == "os" else exports
*path, name = name.split(".")  # a function, or a method of a class of the module
for part in path:
    module = getattr(module, part)
real = getattr(module, name)
calls = 0

def dying(*args, **kwargs):
    global calls
    calls += 1
    if calls == int(nth) and when == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    result = real(*args, **kwargs)
    if calls == int(nth) and when == "after":
        os.kill(os.getpid(), signal.SIGKILL)
    return result

setattr(module, name, dying)
lake = Settings.from_env({**os.environ, "PIPELINE_WAREHOUSE": warehouse}).lake()
export_parquet(lake, root, start=date.fromisoformat(start), end=date.fromisoformat(end))
"""


@pytest.mark.parametrize(
    ("owner", "step", "nth", "when", "visible"),
    [
        ("exports", "_build", 1, "before", "old"),  # the new version is an empty folder
        ("exports", "_relations", 1, "after", "old"),  # listed what to write, none written
        ("exports", "fsync_path", 4, "before", "old"),  # all written, some on disk
        ("exports", "_link_file", 2, "before", "old"),  # kept partitions half linked
        ("os", "replace", 1, "before", "old"),  # all built, the new link made, not switched
        ("exports", "_switch", 1, "after", "new"),  # switched: the whole new version
    ],
)
def test_sigkill_leaves_the_export_wholly_old_or_wholly_new(
    loaded, tmp_path, owner, step, nth, when, visible
):
    root = tmp_path / "export"
    first = export_parquet(loaded, root)
    old = snapshot(root)
    revise(loaded)
    new = snapshot(Path(export_parquet(loaded, tmp_path / "reference").export_dir))
    assert new != old and new["clients"] != old["clients"]

    args = [str(loaded.path), str(root), owner, step, str(nth), when, str(D[1]), str(D[2])]
    child = subprocess.run(
        [sys.executable, "-c", CHILD, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert snapshot(root) == {"old": old, "new": new}[visible]
    left = versions(root) - {".lock", first.version}
    current = os.readlink(root).rpartition("/")[2]
    assert left and (current in left) == (visible == "new")  # the killed run's folder is there

    result = export_parquet(loaded, root, start=D[1], end=D[2])
    assert snapshot(root) == new
    # The next run removed the killed run's debris (or, once switched, kept it as the previous).
    assert versions(root) == {".lock", current, result.version}


def s3_lake(loaded, s3, bucket: str) -> Warehouse:
    """The loaded warehouse, opened with the S3 server's settings (as the pipeline opens it)."""
    env = {"PIPELINE_WAREHOUSE": str(loaded.path), **s3.env(bucket)}
    return Settings.from_env(env).lake()


def tables_in(root: str, filesystem: pafs.FileSystem) -> dict[str, list[dict]]:
    """Every table under root as pyarrow reads its folder (no options): all rows, sorted."""
    names = {
        info.path.rstrip("/").rpartition("/")[2]
        for info in filesystem.get_file_info(pafs.FileSelector(root))
    }
    return {
        name: sorted(pq.read_table(f"{root}/{name}", filesystem=filesystem).to_pylist(), key=repr)
        for name in sorted(names)
    }


def test_an_s3_export_has_the_folders_layout_and_content(loaded, tmp_path, s3):
    bucket = s3.new_bucket()
    wh = s3_lake(loaded, s3, bucket)
    result = export_parquet(wh, f"s3://{bucket}/bi/")
    folder = export_parquet(loaded, tmp_path / "export")

    keys = {key.removeprefix(f"s3://{bucket}/bi/") for key in s3.objects(bucket)}
    local = {
        str(f.relative_to(tmp_path / "export")) for f in (tmp_path / "export").rglob("*.parquet")
    }
    assert keys == local and len(keys) == result.files_written == folder.files_written
    assert result.export_dir == f"s3://{bucket}/bi" and result.version is None
    fs = S3FileSystem(s3)
    assert tables_in(f"{bucket}/bi", fs) == tables_in(
        str(tmp_path / "export"), pafs.LocalFileSystem()
    )


def test_an_s3_range_export_replaces_its_months_and_deletes_emptied_ones_last(loaded, tmp_path, s3):
    bucket = s3.new_bucket()
    wh = s3_lake(loaded, s3, bucket)
    root = f"s3://{bucket}/bi"
    export_parquet(wh, root)
    before = s3.objects(bucket)
    revise(loaded)

    # Killed just before its deletes: every new object is in place, the emptied months still are.
    args = [str(loaded.path), root, "exports", "_S3Objects.delete", "1", "before", str(D[1])]
    child = subprocess.run(
        [sys.executable, "-c", CHILD, *args, str(D[2])],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **s3.env(bucket)},
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert set(s3.objects(bucket)) == set(before)
    fs = S3FileSystem(s3)
    daily = pq.read_table(f"{bucket}/bi/usage_daily", filesystem=fs)
    days = zip(daily["usage_date"].to_pylist(), daily["total_price"].to_pylist(), strict=True)
    assert sorted(days) == [
        (D[0], Decimal("1E-10")),
        (D[1], Decimal("9")),  # the new object of February
        (D[2], Decimal("3E-10")),  # March, emptied by the run, not deleted yet
        (D[3], Decimal("4E-10")),
    ]

    result = export_parquet(wh, root, start=D[1], end=D[2])
    reference = tmp_path / "reference"
    export_parquet(loaded, reference)
    assert result.files_removed == 3  # March of usage_daily, February and March of by_category
    assert tables_in(f"{bucket}/bi", fs) == tables_in(str(reference), pafs.LocalFileSystem())
    untouched = f"s3://{bucket}/bi/usage_daily/usage_month={M[0]}/data_0.parquet"
    assert s3.objects(bucket)[untouched] == before[untouched]


def test_an_s3_export_prefix_that_cannot_be_reached_is_one_line(loaded, s3):
    wh = s3_lake(loaded, s3, "no-such-bucket-here")
    with pytest.raises(WarehouseError, match="cannot list the export prefix") as error:
        prepare_export_dir("s3://no-such-bucket-here/bi/", wh.storage)
    assert "\n" not in str(error.value) and "test-secret-key" not in str(error.value)


def S3FileSystem(s3) -> pafs.S3FileSystem:
    return pafs.S3FileSystem(
        access_key="test-key-id",
        secret_key="test-secret-key",
        region="us-east-1",
        endpoint_override=s3.endpoint.removeprefix("http://"),
        scheme="http",
    )
