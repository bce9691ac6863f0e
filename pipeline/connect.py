"""How people reach the warehouse besides `query`: the SQL for their own DuckDB (`connect-sql`),
a connection from Python (`pipeline.open_warehouse`), and `migrate` from a single-file warehouse.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import duckdb

from pipeline.settings import Settings, read_environment
from pipeline.warehouse import Snapshot
from pipeline.warehouse.migrate import migrate_single_file

# What `INSTALL` calls each extension in a DuckDB client that may download them.
CLIENT_NAMES = {
    "ducklake": "ducklake",
    "sqlite_scanner": "sqlite",
    "postgres_scanner": "postgres",
    "httpfs": "httpfs",
}


def open_warehouse(
    read_only: bool = True,
    *,
    as_of: Snapshot | None = None,
    env: Mapping[str, str] | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the configured warehouse attached (as `warehouse`) and selected;
    read-only unless asked, as of a past snapshot if given. Settings from the environment and
    `.env` unless `env` is given. The caller closes it."""
    settings = Settings.from_env(read_environment() if env is None else env)
    return settings.lake().connect(read_only=read_only, snapshot=as_of)


def connect_sql(env: Mapping[str, str]) -> str:
    """The statements that attach the configured warehouse read-only in a DuckDB 1.5 client."""
    wh = Settings.from_env(env).lake()
    lines = [f"-- The warehouse {wh.where()}, read-only, for any DuckDB 1.5 client."]
    for name in wh.extensions():
        lines.append(f"INSTALL {CLIENT_NAMES[name]}; LOAD {CLIENT_NAMES[name]};")
    if wh.is_postgres:
        lines.append("-- The catalog's password: PGPASSWORD in the client's environment (libpq).")
    lines += [
        f"{statement};" for statement in wh.attach_statements(read_only=True, placeholders=True)
    ]
    return "\n".join(lines)


def print_connect_sql(env: Mapping[str, str]) -> int:
    print(connect_sql(env))
    return 0


def run_migrate(env: Mapping[str, str], old: Path) -> int:
    wh = Settings.from_env(env).lake()
    moved = migrate_single_file(wh, old.absolute())
    print(f"Moved {old} into {wh.where()}:")
    for table in moved:
        sums = "".join(f", {column} {total.normalize():f}" for column, total in table.sums.items())
        print(f"  {table.table}: {table.rows} rows{sums}")
    return 0
