"""A usage load of a day range, committed straight into the lake one batch of clients at a time.

Each batch is one transaction (one snapshot): it deletes the client-days the batch covers, inserts
their new rows and lists its clients in usage_load_clients. So every client-day is either as it
was or wholly new, a load killed at any point loses at most the batch in flight, and readers see
each batch whole the moment it commits. A resumed load is the same row of usage_loads: it skips
the clients that row's earlier batches committed, read from the lake itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from pipeline import clock
from pipeline.warehouse.errors import WarehouseError
from pipeline.warehouse.frames import check_fits_table, check_in_range
from pipeline.warehouse.store import Warehouse, affected_rows

# Facts replaced per client-day a batch covers (its usage_coverage rows say which).
DAY_FACTS = ("usage_daily", "usage_by_category", "usage_coverage")
CHANNEL_FACTS = ("usage_daily_by_channel", "usage_by_channel_category")
# Facts replaced per client-month fetched (the batch's months frame says which).
MONTH_FACTS = ("usage_monthly_api",)
MONTHS = pl.Schema({"client_id": pl.String, "month": pl.Date})
# Observations: appended, never replaced; a row already there is not added twice.
# table -> (the columns that identify a row, the time column that grows run after run).
LOGS = {
    "balance_snapshots": (("client_id", "observed_at"), "observed_at"),
    "raw_balance_fetches": (
        ("client_id", "granularity", "app_id", "window_start", "fetched_at"),
        "fetched_at",
    ),
}


@dataclass(frozen=True)
class UsageLoad:
    """One row of usage_loads; `open` it, `commit_batch` per batch, `finish` when complete."""

    load_id: str
    kind: str
    start: date
    end: date
    channel_usage: bool

    @classmethod
    def open(
        cls,
        wh: Warehouse,
        kind: str,
        start: date,
        end: date,
        *,
        resume: bool,
        channel_usage: bool = False,
    ) -> UsageLoad:
        """With `resume`, the latest unfinished load of the same kind and range, if any;
        otherwise a new one, committed before any batch."""
        if resume and wh.exists():
            with wh.read() as con:
                row = con.execute(
                    "SELECT load_id, channel_usage FROM usage_loads WHERE kind = ? "
                    "AND start_date = ? AND end_date = ? AND finished_at IS NULL "
                    "ORDER BY started_at DESC LIMIT 1",
                    [kind, start, end],
                ).fetchall()
            if row:
                load = cls(row[0][0], kind, start, end, row[0][1])
                load._same_channel_setting(channel_usage)
                return load
        load = cls(uuid.uuid4().hex, kind, start, end, channel_usage)
        with wh.write(f"{kind} {start}..{end}: started") as con:
            con.execute(
                "INSERT INTO usage_loads VALUES (?, ?, ?, ?, ?, ?, NULL)",
                [load.load_id, kind, start, end, channel_usage, clock.now()],
            )
        return load

    def _same_channel_setting(self, channel_usage: bool) -> None:
        if self.channel_usage != channel_usage:
            # Its committed batches have (or lack) channel rows: mixing would leave some clients'
            # channels loaded and others' not.
            was = "on" if self.channel_usage else "off"
            raise WarehouseError(
                f"the interrupted {self.kind} of {self.start}..{self.end} had "
                f"PIPELINE_CHANNEL_USAGE={was}; resume it with the same setting, or run the range "
                "again without --resume"
            )

    def saved_clients(self, wh: Warehouse) -> tuple[set[str], int]:
        """The clients this load's batches committed, and how many batches did."""
        if not wh.exists():
            return set(), 0
        with wh.read() as con:
            rows = con.execute(
                "SELECT client_id, batch FROM usage_load_clients WHERE load_id = ?", [self.load_id]
            ).fetchall()
        return {client_id for client_id, _ in rows}, max((batch for _, batch in rows), default=0)

    def commit_batch(
        self,
        wh: Warehouse,
        batch: int,
        client_ids: Sequence[str],
        tables: Mapping[str, pl.DataFrame],
        months: pl.DataFrame | None = None,
    ) -> dict[str, dict[str, int]]:
        """Replace, in one transaction, the client-days of `tables["usage_coverage"]` and the
        client-months of `months` by the batch's rows, append its observations, and record its
        `client_ids` as saved. Returns deleted and inserted row counts per table."""
        saved = pl.DataFrame({"client_id": list(client_ids)}, schema={"client_id": pl.String})
        saved = saved.with_columns(
            pl.lit(self.load_id).alias("load_id"),
            pl.lit(batch, pl.Int32).alias("batch"),
            pl.lit(clock.now(), pl.Datetime("us", "UTC")).alias("saved_at"),
        )
        facts = [*DAY_FACTS, *(CHANNEL_FACTS if self.channel_usage else ())]
        with wh.write(f"{self.kind} {self.start}..{self.end}: batch {batch}") as con:
            counts = replace_usage(con, tables, facts, months, (self.start, self.end, client_ids))
            insert_frame(con, "usage_load_clients", saved)
        return counts

    def finish(self, wh: Warehouse) -> None:
        """Mark the load complete: a later `--resume` of the range starts a new one."""
        with wh.write(f"{self.kind} {self.start}..{self.end}: finished") as con:
            con.execute(
                "UPDATE usage_loads SET finished_at = ? WHERE load_id = ?",
                [clock.now(), self.load_id],
            )


def replace_usage(
    con: duckdb.DuckDBPyConnection,
    tables: Mapping[str, pl.DataFrame],
    facts: Sequence[str],
    months: pl.DataFrame | None,
    fetched: tuple[date, date, Sequence[str]],
) -> dict[str, dict[str, int]]:
    """Inside the caller's transaction: delete the `facts` rows of the client-days in
    `tables["usage_coverage"]` and the month figures of the client-months in `months`, then
    insert every frame of `tables`. Frames that do not fit their table, and facts outside the
    `fetched` days and clients (start, end, client ids), are refused before anything changes.
    Returns deleted and inserted row counts per table."""
    for table, frame in tables.items():
        check_fits_table(con, table, frame)
        if table in facts:
            check_in_range(table, frame, *fetched)
    deleted: dict[str, int] = {}
    con.register("covered_days", tables["usage_coverage"].select("client_id", "usage_date"))
    for table in facts:
        deleted[table] = _delete_covered(con, table, "covered_days", "usage_date")
    if months is not None:
        con.register("covered_months", months.select("client_id", "month").cast(MONTHS))
        for table in MONTH_FACTS:
            deleted[table] = _delete_covered(con, table, "covered_months", "month")
    inserted = {
        table: _append_new(con, table, frame) if table in LOGS else insert_frame(con, table, frame)
        for table, frame in tables.items()
    }
    return {"deleted": deleted, "inserted": inserted}


def _delete_covered(con: duckdb.DuckDBPyConnection, table: str, cover: str, day: str) -> int:
    return affected_rows(
        con.execute(
            f"DELETE FROM {table} AS t USING {cover} AS c "
            f"WHERE t.client_id = c.client_id AND t.{day} = c.{day}"
        )
    )


def _append_new(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    """Insert the rows of `frame` the table lacks (loading the same observation twice adds it
    once); only rows as recent as the frame's are compared, so the cost does not grow with
    history."""
    key, time_column = LOGS[table]
    match = " AND ".join(f"t.{column} = i.{column}" for column in key)
    con.register("incoming_log", frame)
    inserted = affected_rows(
        con.execute(
            f"""
            INSERT INTO {table} BY NAME
            SELECT * FROM incoming_log AS i
            WHERE NOT EXISTS (
                SELECT 1 FROM {table} AS t
                WHERE {match}
                  AND t.{time_column} >= (SELECT min({time_column}) FROM incoming_log)
            )
            """
        )
    )
    con.unregister("incoming_log")
    return inserted


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    con.register("incoming_rows", frame)
    inserted = affected_rows(
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming_rows")
    )
    # Not in a `finally`: after a failed INSERT DuckDB refuses all but ROLLBACK, and unregistering
    # would replace the error with "transaction is aborted". The next register of the name
    # replaces a leftover registration.
    con.unregister("incoming_rows")
    return inserted
