"""Data-quality queries for asset checks: each returns the problem rows (empty means healthy).

They take a connection (usually `wh.read()`), bind every value as a parameter and read tables only,
except `usage_family_mismatches`, which reads the view of that name (see sql/views/).
"""

from collections.abc import Sequence
from datetime import date

import duckdb
import polars as pl

from pipeline.warehouse.errors import WarehouseError
from pipeline.warehouse.schema import primary_key

# Columns that are counts or money and so can never be negative.
NON_NEGATIVE = {
    "usage_daily": (
        "quantity",
        "paid_quantity",
        "free_quantity",
        "free_tier",
        "free_entry_point",
        "total_price",
    ),
    "usage_by_category": ("quantity", "paid_quantity", "price"),
}


def duplicate_keys(
    con: duckdb.DuckDBPyConnection, table: str, key: Sequence[str] | None = None
) -> pl.DataFrame:
    """Key values held by more than one row, with their `rows` count.

    The key defaults to the table's primary key, which DuckDB already enforces: the check guards
    against tables rebuilt without their constraints (e.g. by CREATE TABLE AS).
    """
    columns = ", ".join(key or primary_key(con, table))
    if not columns:
        raise WarehouseError(f"{table} has no primary key; pass the key columns to check")
    return con.sql(
        f"SELECT {columns}, count(*) AS rows FROM {table} "
        "GROUP BY ALL HAVING count(*) > 1 ORDER BY ALL"
    ).pl()


def negative_amounts(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """One row per negative quantity or price, naming table, row, column and value."""
    selects = [
        f"SELECT '{table}' AS table_name, client_id, usage_date, "
        f"{'category' if table == 'usage_by_category' else 'NULL'} AS category, "
        f"'{column}' AS column_name, CAST({column} AS DECIMAL(38, 10)) AS value "
        f"FROM {table} WHERE {column} < 0"
        for table, columns in NON_NEGATIVE.items()
        for column in columns
    ]
    return con.sql(" UNION ALL ".join(selects) + " ORDER BY ALL").pl()


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
