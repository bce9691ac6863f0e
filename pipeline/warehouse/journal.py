"""A run's journal: its batches saved as they go, then published into the warehouse at once.

A long backfill commits one batch of clients at a time into a DuckDB file of its own beside the
warehouse (`<warehouse>.<kind>-<start>_<end>.journal`), so a run killed at any point loses at
most the batch in flight, and a resumed run skips the clients already saved. The journal holds
only this run's rows, so a batch commit costs the batch, whatever the history. Publishing then
replaces exactly the client-days the journal covers in one copy-on-write transaction of the
warehouse (store.py): readers never see half a run, and a failed publish leaves both files as
they were, ready to publish again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipeline.warehouse.errors import WarehouseBusyError, WarehouseError
from pipeline.warehouse.frames import check_fits_table, check_in_range
from pipeline.warehouse.schema import ensure_tables
from pipeline.warehouse.store import Warehouse, affected_rows, connect_file

# Facts replaced per client-day covered by the journal (usage_coverage says which).
DAY_FACTS = ("usage_daily", "usage_by_category", "usage_coverage")
CHANNEL_FACTS = ("usage_daily_by_channel", "usage_by_channel_category")
# Facts replaced per client-month fetched (journal_months says which).
MONTH_FACTS = ("usage_monthly_api",)
# Observations: appended, never replaced; a row already there is not added twice.
# table -> (the columns that identify a row, the time column that grows run after run).
LOGS = {
    "balance_snapshots": (["client_id", "observed_at"], "observed_at"),
    "raw_balance_fetches": (
        ["client_id", "granularity", "app_id", "window_start", "fetched_at"],
        "fetched_at",
    ),
}
_LEDGER = """
CREATE TABLE IF NOT EXISTS journal_run (
    start_date DATE NOT NULL, end_date DATE NOT NULL, channel_usage BOOLEAN NOT NULL
);
CREATE TABLE IF NOT EXISTS journal_clients (
    client_id VARCHAR PRIMARY KEY, batch INTEGER NOT NULL, saved_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS journal_months (
    client_id VARCHAR NOT NULL, month DATE NOT NULL, PRIMARY KEY (client_id, month)
);
"""


class RunJournal:
    """Open with `RunJournal.open(...)`; `save_batch` per batch, then `publish`."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.path = path
        self._con: duckdb.DuckDBPyConnection | None = con
        run = con.execute("SELECT start_date, end_date, channel_usage FROM journal_run").fetchone()
        assert run is not None
        self.start: date = run[0]
        self.end: date = run[1]
        self.channel_usage: bool = run[2]

    @classmethod
    @contextmanager
    def open(
        cls,
        wh: Warehouse,
        kind: str,
        start: date,
        end: date,
        *,
        resume: bool,
        channel_usage: bool = False,
    ) -> Iterator[RunJournal]:
        """The journal of a `kind` ("run", "replay") of [start, end]; a fresh one unless
        `resume`, which reopens what an interrupted run of the same range saved."""
        path = journal_path(wh, kind, start, end)
        wh.check_writable()
        if not resume:
            for stale in (path, path.with_name(path.name + ".wal")):
                stale.unlink(missing_ok=True)
        con = _open(path)
        try:
            con.execute(_LEDGER)
            ensure_tables(con, wh.sql_dir)
            if con.execute("SELECT count(*) FROM journal_run").fetchone() == (0,):
                con.execute("INSERT INTO journal_run VALUES (?, ?, ?)", [start, end, channel_usage])
            journal = cls(path, con)
            if journal.channel_usage != channel_usage:
                # Its saved batches have (or lack) channel rows: mixing would publish some
                # clients' channels and drop others'.
                was = "on" if journal.channel_usage else "off"
                raise WarehouseError(
                    f"the interrupted {kind} of {start}..{end} had PIPELINE_CHANNEL_USAGE={was}; "
                    "resume it with the same setting, or run the range again without --resume"
                )
            yield journal
        finally:
            con.close()

    def saved_clients(self) -> set[str]:
        rows = self._connection.execute("SELECT client_id FROM journal_clients").fetchall()
        return {client_id for (client_id,) in rows}

    def batches(self) -> int:
        row = self._connection.execute("SELECT count(DISTINCT batch) FROM journal_clients")
        return int(row.fetchall()[0][0])

    def save_batch(
        self,
        client_ids: Sequence[str],
        tables: Mapping[str, pl.DataFrame],
        months: pl.DataFrame | None = None,
    ) -> dict[str, int]:
        """Save one batch in one transaction: the rows of `tables` for `client_ids` (who are
        then saved whole), and the (client_id, month) pairs whose month figures were fetched."""
        con = self._connection
        con.execute("BEGIN TRANSACTION")
        try:
            for table, frame in tables.items():
                check_fits_table(con, table, frame)
                if table in DAY_FACTS or table in CHANNEL_FACTS:
                    check_in_range(table, frame, self.start, self.end, client_ids)
            batch = self.batches() + 1
            saved = pl.DataFrame(
                {"client_id": list(client_ids)}, schema={"client_id": pl.String}
            ).with_columns(
                pl.lit(batch, pl.Int32).alias("batch"),
                pl.lit(datetime.now(UTC), pl.Datetime("us", "UTC")).alias("saved_at"),
            )
            inserted = {table: _insert(con, table, frame) for table, frame in tables.items()}
            _insert(con, "journal_clients", saved)
            if months is not None:
                _insert(con, "journal_months", months.select("client_id", "month"))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return inserted

    def publish(self, wh: Warehouse) -> dict[str, dict[str, int]]:
        """Replace, in the warehouse, the client-days and client-months this journal covers by
        its rows, and append its observations; one transaction. Returns deleted and inserted
        row counts per table. The journal is closed for writing from here on."""
        self.close()
        days = [*DAY_FACTS, *(CHANNEL_FACTS if self.channel_usage else ())]
        deleted: dict[str, int] = {}
        inserted: dict[str, int] = {}
        with wh.write() as con:
            con.execute("ATTACH ? AS journal (READ_ONLY)", [str(self.path)])
            for table in days:
                deleted[table] = _delete_covered(con, table, "usage_coverage", "usage_date")
            for table in MONTH_FACTS:
                deleted[table] = _delete_covered(con, table, "journal_months", "month")
            for table in [*days, *MONTH_FACTS]:
                inserted[table] = affected_rows(
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM journal.main.{table}")
                )
            for table, (key, time_column) in LOGS.items():
                inserted[table] = _append_new(con, table, key, time_column)
        return {"deleted": deleted, "inserted": inserted}

    def remove(self) -> None:
        """Delete the journal once its run is published and complete."""
        self.close()
        for path in (self.path, self.path.with_name(self.path.name + ".wal")):
            path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    @property
    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise WarehouseError(f"the journal {self.path} is closed; nothing more can be saved")
        return self._con


def journal_path(wh: Warehouse, kind: str, start: date, end: date) -> Path:
    return wh.path.with_name(f"{wh.path.name}.{kind}-{start}_{end}.journal")


def _open(path: Path) -> duckdb.DuckDBPyConnection:
    try:
        return connect_file(path)
    except WarehouseError as error:
        if "lock" in str(error).lower():
            raise WarehouseBusyError(
                f"another run of the same range is using {path}; wait for it to finish"
            ) from None
        raise


def _delete_covered(con: duckdb.DuckDBPyConnection, table: str, cover: str, day: str) -> int:
    # The date bounds let DuckDB skip row groups of other periods before the join.
    return affected_rows(
        con.execute(
            f"""
            DELETE FROM {table} AS t USING journal.main.{cover} AS c
            WHERE t.client_id = c.client_id AND t.{day} = c.{day}
              AND t.{day} BETWEEN (SELECT min({day}) FROM journal.main.{cover})
                              AND (SELECT max({day}) FROM journal.main.{cover})
            """
        )
    )


def _append_new(
    con: duckdb.DuckDBPyConnection, table: str, key: Sequence[str], time_column: str
) -> int:
    """Insert the journal's rows the table lacks (a publish repeated after a crash adds none);
    only rows as recent as the journal's are compared, so the cost does not grow with history."""
    match = " AND ".join(f"t.{column} = j.{column}" for column in key)
    first = time_column
    return affected_rows(
        con.execute(
            f"""
            INSERT INTO {table} BY NAME
            SELECT * FROM journal.main.{table} AS j
            WHERE NOT EXISTS (
                SELECT 1 FROM {table} AS t
                WHERE {match}
                  AND t.{first} >= (SELECT min({first}) FROM journal.main.{table})
            )
            """
        )
    )


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    con.register("incoming_rows", frame)
    inserted = affected_rows(
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming_rows")
    )
    # Not in a `finally`: after a failed INSERT (a CHECK constraint, say) DuckDB refuses all but
    # ROLLBACK, and unregistering would replace the error with "transaction is aborted". The next
    # register of the name replaces a leftover registration.
    con.unregister("incoming_rows")
    return inserted
