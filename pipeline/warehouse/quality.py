"""Data-quality queries for asset checks: each returns the problem rows (empty means healthy).

They take a connection (usually `wh.read()`), bind every value as a parameter and read tables only,
except `usage_family_mismatches` and `month_mismatches`, which read views (see sql/views/).
Keys and non-negative counts and money, which DuckLake cannot enforce as constraints, are checked
before every insert (frames.py) and, after, by `duplicate_keys` and `negative_amounts`, from what
each table file declares (schema.table_rules).
"""

from collections.abc import Sequence
from datetime import date

import duckdb
import polars as pl

from pipeline.warehouse.schema import table_columns, table_rules

# The usage facts a run writes: the tables the blocking key and amount checks read.
USAGE_TABLES = (
    "usage_daily",
    "usage_by_category",
    "usage_coverage",
    "usage_monthly_api",
    "usage_daily_by_channel",
    "usage_by_channel_category",
    "balance_snapshots",
)


def duplicate_keys(con: duckdb.DuckDBPyConnection, tables: Sequence[str]) -> pl.DataFrame:
    """(table, key, rows) of every declared unique key held by more than one row."""
    parts = []
    for table in tables:
        key = table_rules()[table].unique_key
        if not key or not table_columns(con, table):
            continue
        shown = " || ' ' || ".join(f"coalesce(CAST({column} AS VARCHAR), 'NULL')" for column in key)
        parts.append(
            f"SELECT '{table}' AS table_name, {shown} AS key, count(*) AS rows FROM {table} "
            f"GROUP BY ALL HAVING count(*) > 1"
        )
    return _union(con, parts, {"table_name": pl.String, "key": pl.String, "rows": pl.Int64})


def negative_amounts(con: duckdb.DuckDBPyConnection, tables: Sequence[str]) -> pl.DataFrame:
    """(table, column, rows) of every declared never-negative column with negative values."""
    parts = [
        f"SELECT '{table}' AS table_name, '{column}' AS column_name, count(*) AS rows "
        f"FROM {table} WHERE {column} < 0 HAVING count(*) > 0"
        for table in tables
        if table_columns(con, table)
        for column in table_rules()[table].never_negative
    ]
    return _union(con, parts, {"table_name": pl.String, "column_name": pl.String, "rows": pl.Int64})


def _union(con: duckdb.DuckDBPyConnection, parts: list[str], schema: dict) -> pl.DataFrame:
    if not parts:
        return pl.DataFrame(schema=schema)
    return con.sql(" UNION ALL ".join(parts) + " ORDER BY ALL").pl().cast(schema)


def coverage_gaps(
    con: duckdb.DuckDBPyConnection,
    start: date,
    end: date,
    client_ids: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Client x day of [start, end] never fetched; clients default to the current `clients`."""
    clients = (
        "SELECT client_id FROM clients"
        if client_ids is None
        else "SELECT unnest(CAST(? AS VARCHAR[])) AS client_id"
    )
    params: list[object] = [] if client_ids is None else [list(client_ids)]
    return con.sql(
        f"""
        WITH wanted AS ({clients}),
        expected AS (
            SELECT w.client_id, CAST(d.day AS DATE) AS usage_date
            FROM wanted AS w,
                 generate_series(CAST(? AS DATE), CAST(? AS DATE), INTERVAL 1 DAY) AS d(day)
        )
        SELECT client_id, usage_date FROM expected
        ANTI JOIN usage_coverage USING (client_id, usage_date)
        ORDER BY ALL
        """,
        params=[*params, start, end],
    ).pl()


def latest_covered_date(con: duckdb.DuckDBPyConnection) -> date | None:
    """The last UTC day any client was fetched for (freshness), or None for an empty warehouse."""
    [(latest,)] = con.execute("SELECT max(usage_date) FROM usage_coverage").fetchall()
    return latest


def usage_family_mismatches(
    con: duckdb.DuckDBPyConnection, start: date | None = None, end: date | None = None
) -> pl.DataFrame:
    """Client x day x category family whose categories do not add up to the day's totals,
    within [start, end] when given."""
    return con.sql(
        "SELECT * FROM usage_family_mismatches WHERE usage_date "
        "BETWEEN coalesce(?, DATE '0001-01-01') AND coalesce(?, DATE '9999-12-31') ORDER BY ALL",
        params=[start, end],
    ).pl()


def channel_usage_mismatches(
    con: duckdb.DuckDBPyConnection, start: date, end: date
) -> pl.DataFrame:
    """Client-days of [start, end] with channel rows whose sum (the 'unattributed' remainder
    included) differs from the client's usage_daily row, with both sides' figures."""
    return con.sql(
        """
        WITH channels AS (
            SELECT client_id, usage_date, sum(quantity) AS quantity,
                   sum(paid_quantity) AS paid_quantity, sum(free_quantity) AS free_quantity,
                   sum(total_price) AS total_price
            FROM usage_daily_by_channel WHERE usage_date BETWEEN $start AND $end
            GROUP BY ALL
        ), clients AS (
            SELECT d.client_id, d.usage_date, d.quantity, d.paid_quantity, d.free_quantity,
                   d.total_price
            FROM usage_daily AS d
            WHERE d.usage_date BETWEEN $start AND $end
              AND d.client_id IN (SELECT client_id FROM channels)
        )
        SELECT coalesce(c.client_id, k.client_id) AS client_id,
               coalesce(c.usage_date, k.usage_date) AS usage_date,
               c.total_price AS client_total_price, k.total_price AS channels_total_price,
               c.quantity AS client_quantity, k.quantity AS channels_quantity
        FROM clients AS c FULL JOIN channels AS k USING (client_id, usage_date)
        WHERE c.quantity IS DISTINCT FROM k.quantity
           OR c.paid_quantity IS DISTINCT FROM k.paid_quantity
           OR c.free_quantity IS DISTINCT FROM k.free_quantity
           OR c.total_price IS DISTINCT FROM k.total_price
        ORDER BY ALL
        """,
        params={"start": start, "end": end},
    ).pl()


def unattributed_channel_usage(
    con: duckdb.DuckDBPyConnection, start: date, end: date
) -> pl.DataFrame:
    """The 'unattributed' channel rows of [start, end]: usage no listed channel explains."""
    return con.sql(
        "SELECT client_id, usage_date, currency, quantity, total_price "
        "FROM usage_daily_by_channel WHERE app_id = 'unattributed' "
        "AND usage_date BETWEEN ? AND ? ORDER BY ALL",
        params=[start, end],
    ).pl()


def month_mismatches(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Client-months fetched in full whose daily sum differs from the API's month figure
    (`usage_reconciliation_monthly` says 'mismatch'), over the whole warehouse.

    Only months whose figure was fetched count: a month loaded before month figures were fetched
    has none, which is not a disagreement. A fetched month the API reported no usage for has no
    row in `usage_monthly_api` but is in the raw fetch log, so it counts, as 0.
    """
    return con.sql(
        """
        SELECT r.client_id, r.month, r.currency, r.daily_total_price, r.api_month_total_price,
               r.difference, r.quantity_difference
        FROM usage_reconciliation_monthly AS r
        WHERE r.status = 'mismatch'
          AND (r.api_fetched_at IS NOT NULL OR EXISTS (
                SELECT 1 FROM raw_balance_fetches AS f
                WHERE f.client_id = r.client_id AND f.granularity = 'month' AND f.app_id = ''
                  AND r.month BETWEEN f.window_start AND f.window_end))
        ORDER BY r.month, r.client_id, r.currency
        """
    ).pl()
