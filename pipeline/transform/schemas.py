"""The polars schemas of every frame the transform stage produces, stated up front.

Column names and order follow the warehouse tables in the interface contract; the DuckDB DDL is
written from the same list (MONEY = DECIMAL(38, 10), TIMESTAMPTZ = Datetime("us", "UTC")).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
from polars.datatypes import DataTypeClass

Columns = Mapping[str, pl.DataType | DataTypeClass]
"""Column name -> polars type: a type class (pl.String) or an instance (pl.Decimal(38, 10))."""


def schema_of(columns: Columns) -> pl.Schema:
    """pl.Schema of `columns`. Its own parameter is a union under which mypy cannot type a literal
    that mixes type classes and instances; this one-type parameter can."""
    return pl.Schema(columns)


MONEY = pl.Decimal(38, 10)
MONEY_SCALE = 10
UTC_TIMESTAMP = pl.Datetime("us", "UTC")

USAGE_DAILY = schema_of(
    {
        "client_id": pl.String,
        "usage_date": pl.Date,
        "currency": pl.String,
        "quantity": pl.Int64,
        "paid_quantity": pl.Int64,
        "free_quantity": pl.Int64,
        "free_tier": pl.Int64,
        "free_entry_point": pl.Int64,
        "total_price": MONEY,
    }
)

USAGE_BY_CATEGORY = schema_of(
    {
        "client_id": pl.String,
        "usage_date": pl.Date,
        "currency": pl.String,
        "category": pl.String,
        "category_family": pl.String,
        "quantity": pl.Int64,
        "paid_quantity": pl.Int64,
        "price": MONEY,
    }
)

# usage_frames adds this to both usage frames: when the response the row came from was fetched
# (feeds usage_coverage and tells which of two overlapping responses won).
FETCHED_AT = schema_of({"fetched_at": UTC_TIMESTAMP})

BALANCE_SNAPSHOTS = schema_of(
    {
        "client_id": pl.String,
        "observed_at": UTC_TIMESTAMP,
        "balance": MONEY,
        "currency": pl.String,
        "last_renewal_date": UTC_TIMESTAMP,
        "last_renewal_amount": MONEY,
        "estimated_template_cost": MONEY,
        "bi_price_for_currency_and_client_country": MONEY,
        "ui_price_for_currency_and_client_country": MONEY,
    }
)

# One row of the raw fetch log (table raw_balance_fetches, without body_file) plus the body.
RAW_BALANCE_ANSWERS = schema_of(
    {
        "client_id": pl.String,
        "granularity": pl.String,
        "app_id": pl.String,
        "window_start": pl.Date,
        "window_end": pl.Date,
        "fetched_at": UTC_TIMESTAMP,
        "body_sha256": pl.String,
        "body_bytes": pl.Int64,
        "body": pl.Binary,
    }
)

USAGE_MONTHLY_API = schema_of(
    {
        "client_id": pl.String,
        "month": pl.Date,
        "currency": pl.String,
        "quantity": pl.Int64,
        "paid_quantity": pl.Int64,
        "total_price": MONEY,
        "fetched_at": UTC_TIMESTAMP,
    }
)

CLIENTS = schema_of(
    {
        "client_id": pl.String,
        "name": pl.String,
        "status": pl.String,
        "organisation": pl.String,
        "max_channels": pl.Int64,
        "created_at": UTC_TIMESTAMP,
        "modified_at": UTC_TIMESTAMP,
        "partner_payload": pl.String,
        "business_vertical": pl.String,
        "timezone": pl.String,
        "country": pl.String,
        "language": pl.String,
        "email": pl.String,
        "observed_at": UTC_TIMESTAMP,
    }
)

CHANNELS = schema_of(
    {
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
        "created_at": UTC_TIMESTAMP,
        "billing_started_at": UTC_TIMESTAMP,
        "cancelled_at": UTC_TIMESTAMP,
        "terminated_at": UTC_TIMESTAMP,
        "observed_at": UTC_TIMESTAMP,
    }
)

PARTNER_BALANCE_SNAPSHOTS = schema_of(
    {"observed_at": UTC_TIMESTAMP, "currency": pl.String, "total": MONEY}
)

# What usage_frames returns: the table columns, then fetched_at.
USAGE_DAILY_FRAME = schema_of({**USAGE_DAILY, **FETCHED_AT})
USAGE_BY_CATEGORY_FRAME = schema_of({**USAGE_BY_CATEGORY, **FETCHED_AT})

USAGE_DAILY_BY_CHANNEL = schema_of(
    {
        "client_id": pl.String,
        "app_id": pl.String,
        "channel_id": pl.String,
        "usage_date": pl.Date,
        "currency": pl.String,
        "quantity": pl.Int64,
        "paid_quantity": pl.Int64,
        "free_quantity": pl.Int64,
        "total_price": MONEY,
        "fetched_at": UTC_TIMESTAMP,
    }
)


def with_app_id(schema: pl.Schema) -> pl.Schema:
    """`schema` with `app_id` after its first column (client_id): its per-channel cut."""
    (first, first_type), *rest = schema.items()
    return schema_of({first: first_type, "app_id": pl.String, **dict(rest)})


USAGE_BY_CHANNEL_CATEGORY = with_app_id(USAGE_BY_CATEGORY_FRAME)
