"""Read-side questions the pipeline asks of the warehouse (not checks: facts it acts on)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import duckdb
import polars as pl

from pipeline.warehouse.history import current_ids


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict]:
    """The result of a bound-parameter query as dicts keyed by column name."""
    result = con.execute(sql, params or [])
    names = [column[0] for column in result.description]
    return [dict(zip(names, values, strict=True)) for values in result.fetchall()]


def current_client_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The clients of the latest full listing, the ones whose usage a run fetches."""
    return current_ids(con, "clients")


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


def stored_bodies(
    con: duckdb.DuckDBPyConnection, client_ids: Sequence[str], first: date, last: date
) -> pl.DataFrame:
    """Bodies already on disk for these clients' requests starting in [first, last]: request key,
    body_sha256 and the landing file holding it (what a new answer is compared with)."""
    con.register("batch_clients", pl.DataFrame({"client_id": list(client_ids)}))
    try:
        return con.sql(
            """
            SELECT client_id, granularity, app_id, window_start, window_end, body_sha256,
                   min(body_file) AS body_file
            FROM raw_balance_fetches
            WHERE window_start BETWEEN ? AND ?
              AND client_id IN (SELECT client_id FROM batch_clients)
            GROUP BY ALL
            """,
            params=[first, last],
        ).pl()
    finally:
        con.unregister("batch_clients")


def replay_fetches(con: duckdb.DuckDBPyConnection, start: date, end: date) -> pl.DataFrame:
    """Every logged day-granularity answer of a client (not of one channel) overlapping
    [start, end]: what a replay of that range reads back."""
    return con.sql(
        """
        SELECT client_id, granularity, app_id, window_start, window_end, fetched_at,
               body_sha256, body_file
        FROM raw_balance_fetches
        WHERE granularity = 'day' AND app_id = ''
          AND window_start <= ? AND window_end >= ?
        ORDER BY client_id, fetched_at
        """,
        params=[end, start],
    ).pl()


def channel_apps(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """client_id, app_id, channel_id of every listed channel that has an app."""
    return con.sql(
        "SELECT client_id, app_id, channel_id FROM channels WHERE app_id IS NOT NULL "
        "ORDER BY client_id, app_id"
    ).pl()
