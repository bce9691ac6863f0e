"""Current-state tables and their change history (clients, channels).

A full listing replaces the current-state table; the history table gets a row for every entity
whose tracked columns (all but observed_at) differ from its latest history row, or that is new.
An entity missing from the listing leaves current state; its history stays as it was.
"""

from dataclasses import dataclass

import duckdb
import polars as pl

from pipeline.warehouse.store import affected_rows

# Identifiers only (never data), from this fixed list, go into the statements below.
ENTITY_KEYS = {"clients": "client_id", "channels": "channel_id"}


@dataclass(frozen=True)
class StateChange:
    removed: int
    inserted: int
    history_appended: int


def replace_current_state(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame
) -> StateChange:
    """Replace `table` by `frame` (already checked) and append changes to `<table>_history`."""
    key = ENTITY_KEYS[table]
    history = f"{table}_history"
    con.register("incoming_state", frame)
    try:
        removed = affected_rows(con.execute(f"DELETE FROM {table}"))
        inserted = affected_rows(
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming_state")
        )
        # Both tables share their column order (sql/tables), so EXCEPT compares like with like;
        # EXCEPT treats NULLs as equal, which is what "unchanged" means here. A second listing
        # stamped with the same observed_at as the latest history row replaces that row.
        appended = affected_rows(
            con.execute(
                f"""
                INSERT OR REPLACE INTO {history} BY NAME
                SELECT * FROM {table}
                WHERE {key} IN (
                    SELECT {key} FROM (
                        SELECT * EXCLUDE (observed_at) FROM {table}
                        EXCEPT
                        SELECT * EXCLUDE (observed_at) FROM {history}
                        QUALIFY row_number() OVER (
                            PARTITION BY {key} ORDER BY observed_at DESC) = 1
                    )
                )
                """
            )
        )
    finally:
        con.unregister("incoming_state")
    return StateChange(removed=removed, inserted=inserted, history_appended=appended)
