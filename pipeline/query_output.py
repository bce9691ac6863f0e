"""A query's result in the form the analyst asked for: a table to read, CSV, or JSON.

- `table`: a box for reading in a terminal (pipeline.result_table): amounts with thousands
  separators and their currency's decimals, never rounded; fitted to the terminal's width, the
  first `rows` rows; `full`: every row, every column, whole text.
- `csv`: a header of column names, then one line per row. Written to a file (`--output`) it
  opens with a UTF-8 byte order mark: without one Excel reads the file in the machine's legacy
  code page and garbles non-ASCII client names; on standard output there is none, since a pipe
  feeds programs (`grep`, `cut`, another CSV reader) that would take it for part of the header.
  Numbers stay numbers with every digit (a DECIMAL is never rounded through a float), dates
  and timestamps are ISO 8601, NULL is an empty field, and every text cell goes through
  `inert_text` (a client's name must not run as a formula in the spreadsheet that opens it).
- `json`: one array of objects keyed by column name (the storage contract): decimals as strings
  with all their digits, dates and timestamps as ISO strings, integers and floats as numbers.

Rows are read a batch at a time, so a large CSV or JSON result is never held whole in memory.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Iterator
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Literal, TextIO

import duckdb

from pipeline.atomic_files import write_atomically
from pipeline.cell_text import inert_text
from pipeline.result_table import result_table, terminal_width

Format = Literal["table", "csv", "json"]
_CHUNK_ROWS = 10_000


def emit_result(
    result: duckdb.DuckDBPyRelation,
    fmt: Format,
    rows: int,
    output: Path | None,
    full: bool = False,
) -> None:
    """The result on standard output, or in the file `output`, written whole or not at all."""
    if output is None:
        write_result(result, fmt, sys.stdout, rows, full)
        return
    encoding = "utf-8-sig" if fmt == "csv" else "utf-8"  # the byte order mark, for Excel

    def write(staging: Path) -> None:
        # newline="": the csv module writes its own line ends.
        with staging.open("w", encoding=encoding, newline="") as out:
            write_result(result, fmt, out, rows, full)

    write_atomically(output, write, "--output")


def write_result(
    result: duckdb.DuckDBPyRelation, fmt: Format, out: TextIO, rows: int, full: bool = False
) -> None:
    """Write the result to `out` as `fmt`; `rows` is how many rows a table shows, unless `full`
    (every row and column, whole text); csv and json always hold every row."""
    if fmt == "table":
        if full:
            out.write(result_table(result.pl()))
        else:
            # One row more than shown tells whether more follow, without fetching them all.
            shown = result.limit(rows + 1).pl()
            more = shown.height > rows
            out.write(result_table(shown.head(rows), terminal_width(), more_rows=more))
    elif fmt == "csv":
        writer = csv.writer(out)
        writer.writerow([inert_text(name) for name in result.columns])
        for row in _rows(result):
            writer.writerow([_csv_field(value) for value in row])
    else:
        out.write("[")
        for n, row in enumerate(_rows(result)):
            record = dict(zip(result.columns, map(_json_value, row), strict=True))
            out.write(("," if n else "") + "\n" + json.dumps(record, allow_nan=False))
        out.write("\n]\n")


def _rows(result: duckdb.DuckDBPyRelation) -> Iterator[tuple]:
    """The result's rows, fetched `_CHUNK_ROWS` at a time (never all of them in memory)."""
    while chunk := result.fetchmany(_CHUNK_ROWS):
        yield from chunk


def _csv_field(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:f}"  # never 0E-10: spreadsheets read plain digits
    if isinstance(value, int | float):
        return repr(value)  # a float's repr reads back as the same float
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, list | tuple | dict | bytes):
        value = _json_value(value)  # a LIST or STRUCT as JSON text, a BLOB in hex
        if not isinstance(value, str):
            value = json.dumps(value)
    return inert_text(str(value))


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or Infinity
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return value.hex()  # a BLOB, byte for byte
    return str(value)  # UUID, INTERVAL, and anything DuckDB adds later, as its text
