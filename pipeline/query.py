"""`python -m pipeline query`: an analyst's SQL on the warehouse, on a connection that cannot write.

Read-only is DuckDB's to enforce, not ours to guess by parsing SQL. The lake is attached
read-only (DuckLake then refuses every write to its tables and catalog), optionally at a past
snapshot. Then external access goes off except for reading the lake's own data files (no other
file reads or writes: COPY TO, EXPORT DATABASE, ATTACH of other files, INSTALL, LOAD) and the
configuration is locked (no SET or RESET of any global option, external access included).
Spilling to disk is off as well: its folder would otherwise be a place COPY may write to.
Two doors stay that DuckDB's settings do not close: the SQLite and Postgres extensions open
their catalogs themselves, so an ATTACH of the catalog read-write would get through, and COPY TO
may write into the data folder the lake reads. So only statements DuckDB's own parser calls
queries (SELECT, and EXPLAIN of one) are run at all.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb

from pipeline.errors import one_line
from pipeline.query_output import Format, emit_result
from pipeline.warehouse import Snapshot, Warehouse, WarehouseError

EXAMPLE = "select * from usage_monthly_by_client limit 10"
QUERY_STATEMENTS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})


@contextlib.contextmanager
def locked_down(
    wh: Warehouse, snapshot: Snapshot | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse (as of `snapshot`, else now) that can read it, nothing else."""
    if not wh.exists():
        raise WarehouseError(f"no warehouse at {wh.where()} yet; load some data first")
    # Read-only, no spill folder, UTC and no progress bar (store.py), all set before the lock,
    # which also stops them from changing.
    con = wh.connect(read_only=True, snapshot=snapshot)
    try:
        # Reading the lake's parquet files is file access too: only their folder (or s3://
        # prefix) stays open.
        con.execute("SET allowed_directories = ?", [[wh.data_path]])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        yield con
    finally:
        con.close()


def query_statements(con: duckdb.DuckDBPyConnection, sql: str) -> list[duckdb.Statement]:
    """The statements of `sql`, refused in one line unless each is a query."""
    statements = con.extract_statements(sql)
    for statement in statements:
        if statement.type not in QUERY_STATEMENTS:
            kind = statement.type.name.replace("_", " ")
            raise WarehouseError(
                f"the warehouse is read-only here: {kind} statements are refused; "
                "only queries (SELECT, EXPLAIN) run"
            )
    return statements


def run_query(
    sql: str,
    wh: Warehouse,
    rows: int,
    fmt: Format = "table",
    output: Path | None = None,
    snapshot: Snapshot | None = None,
    full: bool = False,
) -> int:
    """Print the result of the SQL text (its last statement's) as `fmt`, or write it to
    `output`, reading the warehouse as of `snapshot` (else now); a table of `rows` rows unless
    `full`; 2 on any error."""
    with locked_down(wh, snapshot) as con:
        try:
            if not query_statements(con, sql):
                print(
                    f'error: the query is empty; give one SQL statement, e.g. "{EXAMPLE}"',
                    file=sys.stderr,
                )
                return 2
            result = con.sql(sql)
            if result is None:
                print("(the statement returns no rows)")
                return 0
            emit_result(result, fmt, rows, output, full)
        except (duckdb.Error, WarehouseError) as exc:
            print(f"error: {one_line(exc)}", file=sys.stderr)
            return 2
    return 0
