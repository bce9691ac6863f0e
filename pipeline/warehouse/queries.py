"""Read-side questions the pipeline asks of the warehouse (not checks: facts it acts on)."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl


def current_client_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The clients of the latest full listing, the ones whose usage a run fetches."""
    return [
        client_id
        for (client_id,) in con.execute(
            "SELECT client_id FROM clients ORDER BY client_id"
        ).fetchall()
    ]


def range_summary(con: duckdb.DuckDBPyConnection, start: date, end: date) -> pl.DataFrame:
    """Per currency (never added across currencies): clients, days and totals in [start, end]."""
    return con.sql(
        """
        SELECT currency, count(DISTINCT client_id) AS clients, count(DISTINCT usage_date) AS days,
               sum(quantity) AS quantity, sum(total_price) AS total_price
        FROM usage_daily WHERE usage_date BETWEEN ? AND ?
        GROUP BY currency ORDER BY currency
        """,
        params=[start, end],
    ).pl()
