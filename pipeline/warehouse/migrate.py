"""`python -m pipeline migrate --from OLD.duckdb`: a single-file warehouse of an earlier release,
moved into the lake in one transaction, checked to hold the same rows and the same sums.

Each table the old file has replaces the lake's table of that name whole (so a migration run
twice leaves the same lake); a column the lake lacks, or a count or sum that differs, rolls the
whole migration back, so nothing is ever half moved or silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from pipeline.warehouse.errors import WarehouseError
from pipeline.warehouse.schema import table_columns
from pipeline.warehouse.sql_text import quoted
from pipeline.warehouse.store import Warehouse, affected_rows

OLD = "old_warehouse"


@dataclass(frozen=True)
class MovedTable:
    table: str
    rows: int
    sums: dict[str, Decimal]
    """The total of each DECIMAL column (money), equal in the old file and the lake."""


def migrate_single_file(wh: Warehouse, old: Path) -> list[MovedTable]:
    """Copy every table of the DuckDB file `old` into the lake; the tables moved, checked."""
    if not old.is_file():
        raise WarehouseError(f"no warehouse file at {old}; give the path of the old .duckdb file")
    with wh.write(f"migrate {old.name}") as con:
        try:
            con.execute(f"ATTACH {quoted(str(old))} AS {OLD} (READ_ONLY)")
        except duckdb.Error as error:
            first = str(error).splitlines()[0]
            raise WarehouseError(f"cannot open {old} as a DuckDB warehouse: {first}") from None
        return [_move(con, table) for table in _old_tables(con)]


def _old_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? "
        "AND table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY 1",
        [OLD],
    ).fetchall()
    return [name for (name,) in rows]


def _move(con: duckdb.DuckDBPyConnection, table: str) -> MovedTable:
    lake = table_columns(con, table)
    if not lake:
        raise WarehouseError(
            f"the old warehouse has a table {table} this version does not know; nothing was moved"
        )
    old = _old_columns(con, table)
    unknown = [column for column in old if column not in lake]
    if unknown:
        raise WarehouseError(
            f"{table} has columns {unknown} this version does not know; nothing was moved"
        )
    con.execute(f"DELETE FROM {table}")
    columns = ", ".join(old)
    rows = affected_rows(
        con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {OLD}.main.{table}")
    )
    money = [name for name, kind in old.items() if kind.startswith("DECIMAL")]
    before, after = (_totals(con, source, money) for source in (f"{OLD}.main.{table}", table))
    if before != after:
        raise WarehouseError(
            f"{table} differs after the move ({after} against {before} in the old file); "
            "nothing was moved"
        )
    _, *sums = after
    return MovedTable(table, rows, dict(zip(money, sums, strict=True)))


def _old_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = ? "
        "AND table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
        [OLD, table],
    ).fetchall()
    return dict(rows)


def _totals(con: duckdb.DuckDBPyConnection, source: str, money: list[str]) -> tuple:
    sums = "".join(f", coalesce(sum({column}), 0)" for column in money)
    row = con.execute(f"SELECT count(*){sums} FROM {source}").fetchall()
    return tuple(row[0])
