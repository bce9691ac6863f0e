"""Frames in the exact schemas of the interface, built by hand (not by the transform)."""

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl

from pipeline.warehouse import coverage_frame

MONEY = pl.Decimal(38, 10)
UTC_TS = pl.Datetime("us", "UTC")
T0 = datetime(2024, 3, 1, 6, 0, tzinfo=UTC)

DAILY = {
    "client_id": pl.String,
    "usage_date": pl.Date,
    "currency": pl.String,
    "quantity": pl.Int64,
    "paid_quantity": pl.Int64,
    "free_quantity": pl.Int64,
    "free_tier": pl.Int64,
    "free_entry_point": pl.Int64,
    "total_price": MONEY,
    "fetched_at": UTC_TS,
}
BY_CATEGORY = {
    "client_id": pl.String,
    "usage_date": pl.Date,
    "currency": pl.String,
    "category": pl.String,
    "category_family": pl.String,
    "quantity": pl.Int64,
    "paid_quantity": pl.Int64,
    "price": MONEY,
    "fetched_at": UTC_TS,
}
COVERAGE = {"client_id": pl.String, "usage_date": pl.Date, "fetched_at": UTC_TS}
SNAPSHOTS = {
    "client_id": pl.String,
    "observed_at": UTC_TS,
    "balance": MONEY,
    "currency": pl.String,
    "last_renewal_date": UTC_TS,
    "last_renewal_amount": MONEY,
    "estimated_template_cost": MONEY,
    "bi_price_for_currency_and_client_country": MONEY,
    "ui_price_for_currency_and_client_country": MONEY,
}
RAW = {
    "client_id": pl.String,
    "window_start": pl.Date,
    "window_end": pl.Date,
    "granularity": pl.String,
    "fetched_at": UTC_TS,
    "response_text": pl.String,
}
CLIENTS = {
    "client_id": pl.String,
    "name": pl.String,
    "status": pl.String,
    "organisation": pl.String,
    "max_channels": pl.Int64,
    "created_at": UTC_TS,
    "modified_at": UTC_TS,
    "partner_payload": pl.String,
    "business_vertical": pl.String,
    "timezone": pl.String,
    "country": pl.String,
    "language": pl.String,
    "email": pl.String,
}
CHANNELS = {
    "channel_id": pl.String,
    "client_id": pl.String,
    "app_id": pl.String,
    "phone_number": pl.String,
    "phone_name": pl.String,
    "hub_status": pl.String,
    "status": pl.String,
    "account_mode": pl.String,
    "current_quality_rating": pl.String,
    "current_limit": pl.String,
    "hosting_platform_type": pl.String,
    "data_localization_region": pl.String,
    "tier": pl.String,
    "waba_account_id": pl.String,
    "created_at": UTC_TS,
    "billing_started_at": UTC_TS,
    "cancelled_at": UTC_TS,
    "terminated_at": UTC_TS,
}


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
        "raw": frame(RAW, raw),
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
