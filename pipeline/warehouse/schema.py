"""The warehouse schema: DDL from sql/tables/, and what the live tables look like."""

from pathlib import Path

import duckdb

# The package is installed editable from the repository, whose sql/ folder holds the DDL and views.
DEFAULT_SQL_DIR = Path(__file__).resolve().parents[2] / "sql"


def sql_files(sql_dir: Path, kind: str) -> list[Path]:
    """The `*.sql` files of `sql_dir/kind` (tables or views), in name order; one object per file."""
    files = sorted((sql_dir / kind).glob("*.sql"))
    if not files:
        raise FileNotFoundError(f"no {kind} SQL files in {sql_dir / kind}")
    return files


def ensure_schema(con: duckdb.DuckDBPyConnection, sql_dir: Path = DEFAULT_SQL_DIR) -> list[str]:
    """Create every table that does not exist yet (idempotent DDL); return the table names."""
    files = sql_files(sql_dir, "tables")
    for file in files:
        con.execute(file.read_text())
    return [file.stem for file in files]


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of a table of the current database, in table order."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = current_schema() "
        "AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return dict(rows)


def primary_key(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The primary key columns of a table, or [] when it has none."""
    rows = con.execute(
        "SELECT constraint_column_names FROM duckdb_constraints() "
        "WHERE database_name = current_database() AND table_name = ? "
        "AND constraint_type = 'PRIMARY KEY'",
        [table],
    ).fetchall()
    return list(rows[0][0]) if rows else []
