"""`python -m pipeline query`: an analyst's SQL on the warehouse, on a connection that cannot write.

Read-only is DuckDB's to enforce, not ours to guess by parsing SQL. The file is opened as the
database itself in read-only mode, so every database this connection could attach is read-only
too, an in-memory one cannot be made to switch to and detach the warehouse from, and the same
file cannot be attached a second time, read-write. Then external access goes off (no file
reads or writes: COPY TO, EXPORT DATABASE, ATTACH of other files, INSTALL, LOAD) and the
configuration is locked (no SET or RESET of any global option, external access included).
Spilling to disk is off as well: its folder would otherwise be a place COPY may write to.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb

from pipeline.errors import one_line
from pipeline.query_output import Format, emit_result
from pipeline.warehouse import WarehouseError

EXAMPLE = "select * from usage_monthly_by_client limit 10"


@contextlib.contextmanager
def locked_down(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse file that can read it and nothing else."""
    if not path.is_file():
        raise WarehouseError(f"no warehouse at {path} yet; load some data first")
    try:
        # Its own process (the CLI), so DuckDB's per-path instance cache holds no other connection.
        con = duckdb.connect(str(path), read_only=True, config={"temp_directory": ""})
    except duckdb.Error as error:
        raise WarehouseError(f"cannot open the warehouse {path}: {one_line(error)}") from None
    try:
        # Timestamps in UTC whatever the machine's zone, and no progress bar in the output; set
        # before the lock, which also stops these from changing.
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        yield con
    finally:
        con.close()


def run_query(
    sql: str, path: Path, rows: int, fmt: Format = "table", output: Path | None = None
) -> int:
    """Print the result of the SQL text (its last statement's) as `fmt`, or write it to
    `output`; 2 on any error."""
    with locked_down(path) as con:
        try:
            if not con.extract_statements(sql):
                print(
                    f'error: the query is empty; give one SQL statement, e.g. "{EXAMPLE}"',
                    file=sys.stderr,
                )
                return 2
            result = con.sql(sql)
            if result is None:
                print("(the statement returns no rows)")
                return 0
            emit_result(result, fmt, rows, output)
        except duckdb.Error as exc:
            print(f"error: {one_line(exc)}", file=sys.stderr)
            return 2
    return 0
