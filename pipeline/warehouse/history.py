"""Current-state tables and their change history (clients, channels).

A full listing replaces the current-state table; the history table gets a row for every entity
whose tracked columns (all but observed_at) differ from its latest history row, or that is new.
An entity missing from the listing leaves current state, and its history gets a row with
`removed` true (its last known attributes, observed when the listing no longer had it), so a
shrinking directory is visible rather than silent. Should it come back, its next row says so.
"""

from dataclasses import dataclass
from datetime import datetime

import duckdb
import polars as pl

from pipeline.warehouse.store import affected_rows

# Identifiers only (never data), from this fixed list, go into the statements below.
ENTITY_KEYS = {"clients": "client_id", "channels": "channel_id"}


@dataclass(frozen=True)
class StateChange:
    removed: int
    """Rows of the previous current state (a full listing replaces them all)."""
    inserted: int
    history_appended: int
    """History rows: changes, first sightings and removals."""
    gone: int
    """Entities of the previous state missing from this listing, recorded as removed."""


def current_ids(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The ids in a current-state table (the latest listing), sorted."""
    key = ENTITY_KEYS[table]
    return [entity for (entity,) in con.execute(f"SELECT {key} FROM {table} ORDER BY 1").fetchall()]


def replace_current_state(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, observed_at: datetime
) -> StateChange:
    """Replace `table` by `frame` (already checked, stamped `observed_at`) and append changes and
    removals to `<table>_history`."""
    key = ENTITY_KEYS[table]
    history = f"{table}_history"
    con.register("incoming_state", frame)
    try:
        # Before the delete: the entities the previous listing had and this one has not. A second
        # listing at the same instant as the latest history row replaces that row.
        gone = _replace_history_rows(
            con,
            table,
            f"""
            SELECT * REPLACE (?::TIMESTAMPTZ AS observed_at), true AS removed FROM {table}
            WHERE {key} NOT IN (SELECT {key} FROM incoming_state)
            """,
            [observed_at],
        )
        removed = affected_rows(con.execute(f"DELETE FROM {table}"))
        inserted = affected_rows(
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming_state")
        )
        # The history has the table's columns in the same order, then `removed` (sql/tables), so
        # EXCEPT compares like with like; EXCEPT treats NULLs as equal, which is what "unchanged"
        # means here, and an entity whose latest row says removed has changed by coming back.
        changed = _replace_history_rows(
            con,
            table,
            f"""
            SELECT *, false AS removed FROM {table}
            WHERE {key} IN (
                SELECT {key} FROM (
                    SELECT * EXCLUDE (observed_at), false AS removed FROM {table}
                    EXCEPT
                    SELECT * EXCLUDE (observed_at) FROM {history}
                    QUALIFY row_number() OVER (
                        PARTITION BY {key} ORDER BY observed_at DESC) = 1
                )
            )
            """,
        )
    finally:
        con.unregister("incoming_state")
    return StateChange(
        removed=removed, inserted=inserted, history_appended=gone + changed, gone=gone
    )


def _replace_history_rows(
    con: duckdb.DuckDBPyConnection, table: str, rows_sql: str, params: list | None = None
) -> int:
    """Insert the history rows `rows_sql` selects, replacing rows of the same entity and
    observed_at (DuckLake has no keys, so no INSERT OR REPLACE: delete them first)."""
    key, history = ENTITY_KEYS[table], f"{table}_history"
    con.execute(f"CREATE OR REPLACE TEMP TABLE history_rows AS {rows_sql}", params or [])
    try:
        con.execute(
            f"DELETE FROM {history} AS h USING temp.history_rows AS n "
            f"WHERE h.{key} = n.{key} AND h.observed_at = n.observed_at"
        )
        return affected_rows(
            con.execute(f"INSERT INTO {history} BY NAME SELECT * FROM temp.history_rows")
        )
    finally:
        con.execute("DROP TABLE temp.history_rows")
