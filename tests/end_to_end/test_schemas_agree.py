"""The transform's frames and the warehouse's tables are written separately; they must agree."""

from __future__ import annotations

import polars as pl
import pytest
from warehouse.wh_frames import table_schema

from pipeline.transform import schemas

FRAMES = {
    "usage_daily": schemas.USAGE_DAILY_FRAME,
    "usage_by_category": schemas.USAGE_BY_CATEGORY_FRAME,
    "balance_snapshots": schemas.BALANCE_SNAPSHOTS,
    # the fetch log: an answer's row without its body, with the landing file that holds it
    "raw_balance_fetches": pl.Schema(
        {**{k: v for k, v in schemas.RAW_BALANCE_ANSWERS.items() if k != "body"}}
        | {"body_file": pl.String}
    ),
    "usage_monthly_api": schemas.USAGE_MONTHLY_API,
    "usage_daily_by_channel": schemas.USAGE_DAILY_BY_CHANNEL,
    "usage_by_channel_category": schemas.USAGE_BY_CHANNEL_CATEGORY,
    "clients": schemas.CLIENTS,
    "channels": schemas.CHANNELS,
}


@pytest.mark.parametrize("table", FRAMES)
def test_transform_frames_have_exactly_the_tables_columns_and_types(table: str) -> None:
    assert FRAMES[table] == table_schema(table)


def test_money_is_decimal_38_10_in_every_table() -> None:
    money = {
        (t, c)
        for t in FRAMES
        for c, dtype in table_schema(t).items()
        if dtype == pl.Decimal(38, 10)
    }
    assert ("usage_daily", "total_price") in money and ("usage_by_category", "price") in money
    floats = [(t, c) for t in FRAMES for c, dtype in table_schema(t).items() if dtype.is_float()]
    assert floats == []
