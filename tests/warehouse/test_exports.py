import os
import signal
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from filelock import FileLock
from warehouse.wh_frames import CLIENTS, T0, category, client, day, frame, usage_load

from pipeline.warehouse import (
    WarehouseBusyError,
    WarehouseError,
    export_parquet,
    load_clients,
    load_usage,
)

D = [date(2024, 3, 1) + timedelta(days=i) for i in range(4)]
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
    "usage_monthly_api",
]


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


def read_back(root, table, sql: str) -> list[tuple]:
    glob = str(root / table / "*" / "*.parquet")
    with duckdb.connect() as con:
        return con.execute(
            sql.replace("EXPORTED", f"read_parquet('{glob}', hive_partitioning = true)")
        ).fetchall()


def snapshot(root: Path) -> dict[str, list[tuple]]:
    """Every table as a reader sees it through root: all rows of all its parquet files."""
    tables = {}
    with duckdb.connect() as con:
        for folder in sorted(root.iterdir()):
            files = sorted(str(f) for f in folder.rglob("*.parquet"))
            tables[folder.name] = (
                con.execute(
                    "SELECT * FROM read_parquet(?, hive_partitioning = true) ORDER BY ALL", [files]
                ).fetchall()
                if files
                else []
            )
    return tables


def versions(root: Path) -> set[str]:
    return {p.name for p in (root.parent / f".{root.name}.versions").iterdir()}


def test_facts_are_hive_partitioned_and_the_rest_single_files(loaded, tmp_path):
    root = tmp_path / "export"
    result = export_parquet(loaded, root)
    for table in ("usage_daily", "usage_by_category", "usage_coverage"):
        assert partitions(root, table) == [f"usage_date={d}" for d in D]
        assert all(
            [f.name for f in (root / table / p).iterdir()] == ["data_0.parquet"]
            for p in partitions(root, table)
        )
    for table in ("usage_daily_by_channel", "usage_by_channel_category"):
        assert partitions(root, table) == []  # no channel usage loaded: an empty folder
    for table in SINGLE_FILES:
        assert partitions(root, table) == [f"{table}.parquet"]
    assert sorted(p.name for p in root.iterdir()) == sorted(FACTS + SINGLE_FILES)
    assert result.rows["usage_daily"] == 4 and result.rows["clients"] == 1
    assert result.rows["usage_monthly_api"] == 0
    assert result.files_written == 3 * 4 + len(SINGLE_FILES) and result.partitions_removed == 0


def test_export_dir_is_a_link_to_one_whole_version(loaded, tmp_path):
    root = tmp_path / "export"
    first = export_parquet(loaded, root)
    assert root.is_symlink() and root.resolve() == first.version.resolve()
    assert os.readlink(root) == f".export.versions/{first.version.name}"  # relative: movable
    assert versions(root) == {".lock", first.version.name}

    second = export_parquet(loaded, root)
    # The previous version stays for readers still reading it, until the next export.
    assert versions(root) == {".lock", first.version.name, second.version.name}
    third = export_parquet(loaded, root)
    assert versions(root) == {".lock", second.version.name, third.version.name}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".export.versions", "export", "wh"]


def test_parquet_keeps_column_names_and_exact_decimal_types(loaded, tmp_path):
    root = tmp_path / "export"
    export_parquet(loaded, root)
    schema = pq.read_schema(root / "usage_daily" / f"usage_date={D[0]}" / "data_0.parquet")
    assert schema.field("total_price").type == pa.decimal128(38, 10)
    assert schema.names == [
        "client_id",
        "currency",
        "quantity",
        "paid_quantity",
        "free_quantity",
        "free_tier",
        "free_entry_point",
        "total_price",
        "fetched_at",
    ]
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


def test_range_export_rewrites_only_its_partitions_and_removes_emptied_ones(loaded, tmp_path):
    root = tmp_path / "export"
    export_parquet(loaded, root)
    untouched = {
        d: (root / "usage_daily" / f"usage_date={d}" / "data_0.parquet").stat()
        for d in (D[0], D[3])
    }
    revise(loaded)
    result = export_parquet(loaded, root, start=D[1], end=D[2])

    assert partitions(root, "usage_daily") == [f"usage_date={d}" for d in (D[0], D[1], D[3])]
    assert partitions(root, "usage_by_category") == [f"usage_date={d}" for d in (D[0], D[3])]
    assert partitions(root, "usage_coverage") == [f"usage_date={d}" for d in D]
    for d, before in untouched.items():
        # The new version holds the very same file (a hard link), not a copy.
        after = (root / "usage_daily" / f"usage_date={d}" / "data_0.parquet").stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert read_back(
        root, "usage_daily", "SELECT usage_date, total_price FROM EXPORTED ORDER BY ALL"
    ) == [
        (D[0], Decimal("1E-10")),
        (D[1], Decimal("9")),
        (D[3], Decimal("4E-10")),
    ]
    assert result.partitions_removed == 3  # D2 of usage_daily, D1 and D2 of usage_by_category
    assert result.rows["usage_daily"] == 1 and result.rows["clients"] == 2
    # usage_daily D1 + usage_coverage D1, D2 + the single-file tables
    assert result.files_written == 3 + len(SINGLE_FILES)


def test_only_tables_the_warehouse_has_are_exported_and_a_new_one_is_written_whole(
    loaded, tmp_path
):
    with loaded.write() as con:  # a warehouse from before these tables
        con.execute("DROP TABLE usage_daily_by_channel; DROP TABLE client_markups")
    root = tmp_path / "export"
    export_parquet(loaded, root)
    assert "usage_daily_by_channel" not in os.listdir(root)
    assert "client_markups" not in os.listdir(root)

    with loaded.write() as con:  # every write creates the missing tables
        con.execute(
            "INSERT INTO usage_daily_by_channel VALUES "
            "('a', 'app-1', 'c1', ?, 'EUR', 1, 1, 0, 0.5, ?), "
            "('a', 'app-1', 'c1', ?, 'EUR', 2, 2, 0, 1.5, ?)",
            [D[0], T0, D[3], T0],
        )
    export_parquet(loaded, root, start=D[1], end=D[2])
    # Its days outside the range are exported too: the current version had nothing of it.
    assert partitions(root, "usage_daily_by_channel") == [
        f"usage_date={D[0]}",
        f"usage_date={D[3]}",
    ]
    assert read_back(
        root, "usage_daily_by_channel", "SELECT usage_date, total_price FROM EXPORTED ORDER BY 1"
    ) == [(D[0], Decimal("0.5")), (D[3], Decimal("1.5"))]
    assert partitions(root, "client_markups") == ["client_markups.parquet"]


def test_a_folder_from_before_versioning_is_adopted_then_removed(loaded, tmp_path):
    root = tmp_path / "export"
    (root / "usage_daily" / "usage_date=2020-01-01").mkdir(parents=True)
    old = root / "usage_daily" / "usage_date=2020-01-01" / "data_0.parquet"
    pq.write_table(pa.table({"x": [1]}), old)
    (root / ".export-0123abcd").mkdir()  # debris of an export killed under the old scheme
    (root / ".export-0123abcd" / "half.parquet").write_bytes(b"PAR1")

    first = export_parquet(loaded, root, start=D[0], end=D[0])
    assert root.is_symlink()
    adopted = [v for v in versions(root) if v.endswith("-adopted")]
    assert versions(root) == {".lock", first.version.name, *adopted} and len(adopted) == 1
    # The old folder was the current version: its partitions out of range are carried over...
    assert partitions(root, "usage_daily") == [f"usage_date={d}" for d in ["2020-01-01", D[0]]]
    # ...tables it lacked are written whole, and its debris is not.
    assert partitions(root, "usage_by_category") == [f"usage_date={d}" for d in D]
    assert not list(root.glob(".export-*"))

    second = export_parquet(loaded, root)
    assert versions(root) == {".lock", first.version.name, second.version.name}
    assert partitions(root, "usage_daily") == [f"usage_date={d}" for d in D]


def test_an_operators_own_symlink_is_followed(loaded, tmp_path):
    shared = tmp_path / "volume" / "bi"
    shared.mkdir(parents=True)
    root = tmp_path / "export"
    root.symlink_to(shared)
    result = export_parquet(loaded, root)

    assert os.readlink(root) == str(shared)  # the operator's link is kept...
    assert shared.is_symlink() and result.export_dir == shared  # ...ours is at its end
    assert (tmp_path / "volume" / ".bi.versions" / result.version.name).is_dir()
    assert partitions(root, "usage_daily") == [f"usage_date={d}" for d in D]


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
from pipeline.warehouse import Warehouse, export_parquet, exports

warehouse, root, owner, name, nth, when, start, end = sys.argv[1:]
module = os if owner == "os" else exports
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
export_parquet(
    Warehouse(warehouse), root, start=date.fromisoformat(start), end=date.fromisoformat(end)
)
"""


@pytest.mark.parametrize(
    ("owner", "step", "nth", "when", "visible"),
    [
        ("exports", "_copy_table", 1, "before", "old"),  # the new version is an empty folder
        ("exports", "_copy_table", 4, "after", "old"),  # some tables written
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
    new = snapshot(export_parquet(loaded, tmp_path / "reference").export_dir)
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
    left = versions(root) - {".lock", first.version.name}
    current = os.readlink(root).rpartition("/")[2]
    assert left and (current in left) == (visible == "new")  # the killed run's folder is there

    result = export_parquet(loaded, root, start=D[1], end=D[2])
    assert snapshot(root) == new
    # The next run removed the killed run's debris (or, once switched, kept it as the previous).
    assert versions(root) == {".lock", current, result.version.name}
