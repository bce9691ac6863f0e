"""Checks that a polars frame fits a warehouse table before anything is deleted or inserted."""

import re
from collections.abc import Sequence
from datetime import date

import duckdb
import polars as pl

from pipeline.warehouse.errors import WarehouseError
from pipeline.warehouse.schema import table_columns, table_rules

_EXACT_DTYPES: dict[str, pl.DataType] = {
    "VARCHAR": pl.String(),
    "DATE": pl.Date(),
    "BIGINT": pl.Int64(),
    "BOOLEAN": pl.Boolean(),
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),(\d+)\)")


def check_fits_table(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Same column names as the table, types that convert without loss, no duplicate keys and no
    negative amounts where the table file declares so (DuckLake enforces neither)."""
    columns = table_columns(con, table)
    missing = [name for name in columns if name not in frame.columns]
    extra = [name for name in frame.columns if name not in columns]
    if missing or extra:
        raise WarehouseError(
            f"{table} frame does not match the table: missing {missing}, unexpected {extra}; "
            "nothing was loaded"
        )
    for name, sql_type in columns.items():
        dtype = frame.schema[name]
        if not _converts_exactly(sql_type, dtype):
            raise WarehouseError(
                f"{table}.{name} is {dtype} in the frame but {sql_type} in the table; "
                "nothing was loaded"
            )
    rules = table_rules().get(table)
    if rules is None or not frame.height:
        return
    key = list(rules.unique_key)
    if key:
        duplicates = frame.group_by(key).len().filter(pl.col("len") > 1)
        if duplicates.height:
            first = duplicates.row(0, named=True)
            raise WarehouseError(
                f"{table} frame has {duplicates.height} duplicate keys {key}, e.g. "
                f"{ {name: first[name] for name in key} }; nothing was loaded"
            )
    for name in rules.never_negative:
        negative = frame.filter(pl.col(name) < 0)
        if negative.height:
            raise WarehouseError(
                f"{table}.{name} is negative in {negative.height} rows, e.g. "
                f"{negative.row(0, named=True)[name]}; nothing was loaded"
            )


def check_in_range(
    table: str, frame: pl.DataFrame, start: date, end: date, client_ids: Sequence[str]
) -> None:
    """Every row's usage_date is in [start, end] and its client was among those fetched."""
    stray = frame.filter(
        ~pl.col("usage_date").is_between(start, end) | ~pl.col("client_id").is_in(client_ids)
    )
    if stray.height:
        first = stray.row(0, named=True)
        raise WarehouseError(
            f"{table} has {stray.height} rows outside {start}..{end} or for clients not fetched, "
            f"e.g. client {first['client_id']} on {first['usage_date']}; nothing was loaded"
        )


def _converts_exactly(sql_type: str, dtype: pl.DataType) -> bool:
    if dtype == pl.Null:  # an all-null column fits any nullable column
        return True
    decimal = _DECIMAL.fullmatch(sql_type.replace(" ", ""))
    if decimal:
        # DuckDB rounds silently when the frame has more decimals than the column: refuse that,
        # and floats, which are never exact money.
        precision, scale = int(decimal[1]), int(decimal[2])
        return (
            isinstance(dtype, pl.Decimal)
            and dtype.scale <= scale
            and dtype.precision - dtype.scale <= precision - scale
        )
    if sql_type == "TIMESTAMP WITH TIME ZONE":
        # A naive datetime would be read in the session zone: only instants are unambiguous.
        return isinstance(dtype, pl.Datetime) and dtype.time_zone is not None
    return _EXACT_DTYPES.get(sql_type) == dtype
