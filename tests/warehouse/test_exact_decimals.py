from datetime import date, timedelta
from decimal import Decimal

import polars as pl
from warehouse.wh_frames import category, day, usage_load

from pipeline.warehouse import load_usage

D0 = date(2024, 3, 1)
EXTREMES = [
    "0.0000000001",
    "12345678901234567890.1234567890",
    "0.0712",
    "999999999999999999.9999999999",
]


def test_extreme_prices_round_trip_exactly(wh):
    days = [day("a", D0 + timedelta(days=i), price) for i, price in enumerate(EXTREMES)]
    load_usage(wh, **usage_load(["a"], D0, D0 + timedelta(days=3), days))
    with wh.read() as con:
        stored = con.execute("SELECT total_price FROM usage_daily ORDER BY usage_date").fetchall()
        frame = con.sql("SELECT total_price FROM usage_daily ORDER BY usage_date").pl()
    assert [price for (price,) in stored] == [Decimal(p) for p in EXTREMES]
    assert frame.schema["total_price"] == pl.Decimal(38, 10)
    assert frame["total_price"].to_list() == [Decimal(p) for p in EXTREMES]


def test_sum_of_many_small_prices_is_exact(wh):
    # 3000 days x categories at 0.0000000001 and 0.0712: floats would drift, decimals must not.
    days = [D0 + timedelta(days=i) for i in range(3000)]
    cats = [
        category("a", d, name, price)
        for d in days
        for name, price in (("marketing", "0.0000000001"), ("utility", "0.0712"))
    ]
    load_usage(wh, **usage_load(["a"], days[0], days[-1], [], cats))
    with wh.read() as con:
        total = con.execute("SELECT sum(price) FROM usage_by_category").fetchall()[0][0]
    assert total == Decimal("0.0000000001") * 3000 + Decimal("0.0712") * 3000
    assert total == Decimal("213.6000003000")


def test_narrower_decimal_frame_is_widened_exactly(wh):
    kwargs = usage_load(["a"], D0, D0, [day("a", D0, "1.25")])
    kwargs["daily"] = kwargs["daily"].with_columns(pl.col("total_price").cast(pl.Decimal(10, 2)))
    load_usage(wh, **kwargs)
    with wh.read() as con:
        assert con.execute("SELECT total_price FROM usage_daily").fetchall() == [(Decimal("1.25"),)]
