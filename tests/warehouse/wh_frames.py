"""Frames in the exact schemas of the tables, built by hand (not by the transform)."""

import functools
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import polars as pl

from pipeline.warehouse import DEFAULT_SQL_DIR, coverage_frame, ensure_schema

T0 = datetime(2024, 3, 1, 6, 0, tzinfo=UTC)


@functools.cache
def table_schema(table: str) -> pl.Schema:
    """A table's columns as polars types, read off the DDL in sql/tables."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    ensure_schema(con, DEFAULT_SQL_DIR)
    return con.sql(f"SELECT * FROM {table} LIMIT 0").pl().schema


DAILY = table_schema("usage_daily")
BY_CATEGORY = table_schema("usage_by_category")
SNAPSHOTS = table_schema("balance_snapshots")
RAW = table_schema("raw_balance_fetches")
CLIENTS = table_schema("clients")
CHANNELS = table_schema("channels")


def frame(schema: dict, rows: Sequence[dict]) -> pl.DataFrame:
    """Rows given as dicts; columns a row leaves out are NULL."""
    return pl.DataFrame(
        [{name: row.get(name) for name in schema} for row in rows], schema=schema, orient="row"
    )


def day(
    client_id: str, usage_date: date, price: str, *, currency: str = "EUR", quantity: int = 10
) -> dict:
    return {
        "client_id": client_id,
        "usage_date": usage_date,
        "currency": currency,
        "quantity": quantity,
        "paid_quantity": quantity,
        "free_quantity": 0,
        "free_tier": 0,
        "free_entry_point": 0,
        "total_price": Decimal(price),
        "fetched_at": T0,
    }


def category(
    client_id: str,
    usage_date: date,
    name: str,
    price: str,
    *,
    quantity: int = 10,
    currency: str = "EUR",
) -> dict:
    family = "direction" if name in ("business_initiated", "user_initiated") else "pricing"
    return {
        "client_id": client_id,
        "usage_date": usage_date,
        "currency": currency,
        "category": name,
        "category_family": family,
        "quantity": quantity,
        "paid_quantity": quantity,
        "price": Decimal(price),
        "fetched_at": T0,
    }


def usage_load(
    client_ids: Sequence[str],
    start: date,
    end: date,
    days: Sequence[dict],
    categories: Sequence[dict] = (),
    fetched_at: datetime = T0,
    snapshots: Sequence[dict] = (),
    raw: Sequence[dict] = (),
) -> dict:
    """Keyword arguments for load_usage; coverage is every fetched client x day of the range."""
    coverage = coverage_frame(client_ids, start, end, fetched_at)
    return {
        "start": start,
        "end": end,
        "client_ids": list(client_ids),
        "daily": frame(DAILY, days),
        "by_category": frame(BY_CATEGORY, categories),
        "coverage": coverage,
        "snapshots": frame(SNAPSHOTS, snapshots),
        "raw_fetches": frame(RAW, raw),
    }


def client(client_id: str, **changes: object) -> dict:
    return {
        "client_id": client_id,
        "name": f"Client {client_id}",
        "status": "active",
        "organisation": "Org",
        "max_channels": 3,
        "created_at": datetime(2023, 1, 1, tzinfo=UTC),
        "modified_at": T0,
    } | changes


def channel(channel_id: str, client_id: str, **changes: object) -> dict:
    return {
        "channel_id": channel_id,
        "client_id": client_id,
        "app_id": f"app-{channel_id}",
        "status": "ready",
        "hub_status": "running",
        "created_at": datetime(2023, 1, 2, tzinfo=UTC),
    } | changes
