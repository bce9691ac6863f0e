from datetime import date, timedelta
from decimal import Decimal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from warehouse.wh_frames import CLIENTS, T0, category, client, day, frame, usage_load

from pipeline.warehouse import WarehouseError, export_parquet, load_clients, load_usage

D = [date(2024, 3, 1) + timedelta(days=i) for i in range(4)]
SINGLE_FILES = ["balance_snapshots", "channels", "channels_history", "clients", "clients_history"]


@pytest.fixture
def loaded(wh):
    load_clients(wh, frame(CLIENTS, [client("a")]), T0)
    days = [day("a", d, f"0.000000000{i + 1}") for i, d in enumerate(D)]
    cats = [category("a", d, "marketing", f"0.000000000{i + 1}") for i, d in enumerate(D)]
    load_usage(wh, **usage_load(["a"], D[0], D[-1], days, cats))
    return wh


def partitions(root, table) -> list[str]:
    return sorted(p.name for p in (root / table).iterdir())


def read_back(root, table, sql: str) -> list[tuple]:
    glob = str(root / table / "*" / "*.parquet")
    with duckdb.connect() as con:
        return con.execute(
            sql.replace("EXPORTED", f"read_parquet('{glob}', hive_partitioning = true)")
        ).fetchall()


def test_facts_are_hive_partitioned_and_the_rest_single_files(loaded, tmp_path):
    root = tmp_path / "export"
    result = export_parquet(loaded, root)
    for table in ("usage_daily", "usage_by_category", "usage_coverage"):
        assert partitions(root, table) == [f"usage_date={d}" for d in D]
        assert all(
            [f.name for f in (root / table / p).iterdir()] == ["data_0.parquet"]
            for p in partitions(root, table)
        )
    for table in SINGLE_FILES:
        assert partitions(root, table) == [f"{table}.parquet"]
    assert sorted(p.name for p in root.iterdir()) == sorted(
        ["usage_daily", "usage_by_category", "usage_coverage", *SINGLE_FILES]
    )  # no staging folder left
    assert result.rows["usage_daily"] == 4 and result.rows["clients"] == 1
    assert result.files_written == 3 * 4 + len(SINGLE_FILES) and result.partitions_removed == 0


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
    # a is fetched again for D1..D2: D1 revised, D2 without usage any more.
    load_usage(loaded, **usage_load(["a"], D[1], D[2], [day("a", D[1], "9")]))
    result = export_parquet(loaded, root, start=D[1], end=D[2])

    assert partitions(root, "usage_daily") == [f"usage_date={d}" for d in (D[0], D[1], D[3])]
    assert partitions(root, "usage_by_category") == [f"usage_date={d}" for d in (D[0], D[3])]
    assert partitions(root, "usage_coverage") == [f"usage_date={d}" for d in D]
    for d, before in untouched.items():
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
    assert result.rows["usage_daily"] == 1
    assert not list(root.glob(".export-*"))


def test_half_given_range_is_refused(loaded, tmp_path):
    with pytest.raises(WarehouseError, match="needs both ends"):
        export_parquet(loaded, tmp_path / "export", start=D[0])


def test_export_folder_that_cannot_be_written_is_one_line(loaded, tmp_path):
    (tmp_path / "plain").write_text("x")
    with pytest.raises(WarehouseError, match="cannot write the export") as error:
        export_parquet(loaded, tmp_path / "plain" / "export")
    assert "\n" not in str(error.value)
