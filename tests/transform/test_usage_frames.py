from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest
from transform.raw_texts import T0, balance_text, raw, usage_row, vendor_text

from pipeline.transform import UsageFormatError, usage_frames
from pipeline.transform.schemas import USAGE_BY_CATEGORY_FRAME, USAGE_DAILY_FRAME


def by_key(frame: pl.DataFrame, *key: str) -> dict:
    return {tuple(r[k] for k in key): r for r in frame.to_dicts()}


def test_vendor_example_gives_exact_daily_totals_and_direction_categories():
    frames = usage_frames([raw(vendor_text())])

    assert frames.daily.schema == USAGE_DAILY_FRAME
    assert frames.by_category.schema == USAGE_BY_CATEGORY_FRAME
    assert frames.daily.to_dicts() == [
        {
            "client_id": "c1",
            "usage_date": date(2023, 8, 10),
            "currency": "EUR",
            "quantity": 5,
            "paid_quantity": 5,
            "free_quantity": 0,
            "free_tier": 0,
            "free_entry_point": 0,
            "total_price": Decimal("1.0"),
            "fetched_at": T0,
        },
        {
            "client_id": "c1",
            "usage_date": date(2023, 8, 11),
            "currency": "EUR",
            "quantity": 5,
            "paid_quantity": 5,
            "free_quantity": 0,
            "free_tier": 0,
            "free_entry_point": 0,
            "total_price": Decimal("0.05"),
            "fetched_at": T0,
        },
    ]
    # every other category is all zeros on both rows, so only these two are stored
    assert frames.by_category.select(
        "usage_date", "category", "category_family", "quantity", "paid_quantity", "price"
    ).rows() == [
        (date(2023, 8, 10), "business_initiated", "direction", 5, 5, Decimal("1.0")),
        (date(2023, 8, 11), "user_initiated", "direction", 5, 5, Decimal("0.05")),
    ]


def test_sums_of_decimal_prices_stay_exact():
    text = balance_text(
        usage_row(
            "2024-02-01",
            quantity="2",
            paid_quantity="2",
            total_price="0.3",
            marketing_quantity="1",
            marketing_paid_quantity="1",
            marketing_price="0.1",
            utility_quantity="1",
            utility_paid_quantity="1",
            utility_price="0.2",
        ),
    )
    frames = usage_frames([raw(text)])
    total = frames.by_category["price"].sum()
    assert total == Decimal("0.3") == frames.daily["total_price"].item()


def test_unknown_category_is_kept_as_pricing_and_absent_columns_count_as_zero():
    text = balance_text(
        usage_row(
            "2025-07-01",
            quantity="3",
            paid_quantity="3",
            total_price="0.0712",
            marketing_lite_quantity="3",
            marketing_lite_paid_quantity="3",
            marketing_lite_price="0.0712",
        ),
        # the new category is absent on this row; so is free_quantity/free_tier/free_entry_point
        usage_row(
            "2025-07-02",
            quantity="1",
            paid_quantity="0",
            total_price="0",
            service_quantity="1",
            service_paid_quantity="0",
            service_price="0",
        ),
    )
    frames = usage_frames([raw(text)])

    assert frames.by_category.select(
        "usage_date", "category", "category_family", "quantity", "paid_quantity", "price"
    ).rows() == [
        (date(2025, 7, 1), "marketing_lite", "pricing", 3, 3, Decimal("0.0712")),
        (date(2025, 7, 2), "service", "pricing", 1, 0, Decimal("0")),
    ]
    assert frames.daily.select("free_quantity", "free_tier", "free_entry_point").rows() == [
        (0, 0, 0),
        (0, 0, 0),
    ]


def test_category_with_only_some_measure_columns_is_kept():
    text = balance_text(
        usage_row(
            "2025-07-01",
            quantity="4",
            paid_quantity="0",
            total_price="0",
            authentication_international_quantity="4",
        ),
    )
    row = usage_frames([raw(text)]).by_category.row(0, named=True)
    assert (row["category"], row["quantity"], row["paid_quantity"], row["price"]) == (
        "authentication_international",
        4,
        0,
        Decimal("0"),
    )


def test_both_families_on_one_row_are_stored_with_their_family():
    text = balance_text(
        usage_row(
            "2023-06-01",
            quantity="2",
            paid_quantity="2",
            total_price="0.5",
            business_initiated_quantity="2",
            business_initiated_paid_quantity="2",
            business_initiated_price="0.5",
            marketing_quantity="2",
            marketing_paid_quantity="2",
            marketing_price="0.5",
        ),
    )
    families = usage_frames([raw(text)]).by_category.select("category", "category_family").rows()
    assert families == [("business_initiated", "direction"), ("marketing", "pricing")]


def test_an_empty_usage_list_gives_empty_frames_with_the_schemas():
    frames = usage_frames([raw('{"balance": 1.5, "currency": "eur", "usage": []}')])
    assert frames.daily.is_empty() and frames.daily.schema == USAGE_DAILY_FRAME
    assert frames.by_category.is_empty()
    assert frames.by_category.schema == USAGE_BY_CATEGORY_FRAME
    assert usage_frames([]).daily.schema == USAGE_DAILY_FRAME


@pytest.mark.parametrize("body", ['{"balance": 0, "currency": "usd"}', '{"usage": null}'])
def test_an_answer_without_a_usage_list_is_malformed_not_no_usage(body):
    with pytest.raises(UsageFormatError) as caught:
        usage_frames([raw(body, client_id="c2")])
    assert str(caught.value) == "client c2, period -: field 'usage' is missing (expected a list)"


def test_bytes_that_are_not_utf8_are_refused_not_replaced():
    body = b'{"balance": 0, "currency": "eur", "note": "caf\xe9", "usage": []}'
    with pytest.raises(UsageFormatError, match="is not valid UTF-8"):
        usage_frames([raw(body)])


def test_currency_is_upper_cased_per_response():
    row = usage_row("2024-01-01", quantity="0", paid_quantity="0", total_price="0")
    frames = usage_frames(
        [
            raw(balance_text(row, currency="usd"), client_id="a"),
            raw(balance_text(row, currency="eur"), client_id="b"),
        ]
    )
    assert frames.daily.select("client_id", "currency").rows() == [("a", "USD"), ("b", "EUR")]


def test_overlapping_responses_keep_each_day_from_the_latest_fetch():
    def day(d: str, price: str, category: str) -> str:
        return usage_row(
            d,
            quantity="1",
            paid_quantity="1",
            total_price=price,
            **{
                f"{category}_quantity": "1",
                f"{category}_paid_quantity": "1",
                f"{category}_price": price,
            },
        )

    older = raw(
        balance_text(day("2024-01-01", "0.1", "marketing"), day("2024-01-02", "0.1", "marketing")),
        fetched_at=T0,
    )
    newer = raw(
        balance_text(day("2024-01-02", "0.25", "utility"), day("2024-01-03", "0.3", "utility")),
        fetched_at=T0 + timedelta(days=1),
    )
    for order in ([older, newer], [newer, older]):
        frames = usage_frames(order)
        daily = by_key(frames.daily, "usage_date")
        assert {d: (r["total_price"], r["fetched_at"]) for (d,), r in daily.items()} == {
            date(2024, 1, 1): (Decimal("0.1"), T0),
            date(2024, 1, 2): (Decimal("0.25"), T0 + timedelta(days=1)),
            date(2024, 1, 3): (Decimal("0.3"), T0 + timedelta(days=1)),
        }
        # the replaced day keeps no category of the older version
        assert frames.by_category.filter(pl.col("usage_date") == date(2024, 1, 2)).select(
            "category", "price"
        ).rows() == [("utility", Decimal("0.25"))]


def test_same_day_twice_in_one_response_raises():
    row = usage_row("2024-01-01", quantity="0", paid_quantity="0", total_price="0")
    with pytest.raises(
        UsageFormatError, match="c1, period 2024-01-01T00:00:00Z: field 'period_date'"
    ):
        usage_frames([raw(balance_text(row, row))])


def test_fetched_at_in_another_zone_is_stored_as_utc():
    row = usage_row("2024-01-01", quantity="0", paid_quantity="0", total_price="0")
    cet = datetime(2024, 3, 1, 7, 0, tzinfo=UTC).astimezone()
    fetched = usage_frames([raw(balance_text(row), fetched_at=cet)]).daily["fetched_at"].item()
    assert fetched == datetime(2024, 3, 1, 7, 0, tzinfo=UTC)


def test_many_responses_flatten_column_wise():
    categories = ["marketing", "utility", "authentication", "service", "marketing_lite"]
    responses = []
    for client in range(200):
        rows = []
        for day in range(1, 32):
            figures = {}
            for n, category in enumerate(categories):
                quantity = (client + day + n) % 4
                figures |= {
                    f"{category}_quantity": str(quantity),
                    f"{category}_paid_quantity": str(quantity),
                    f"{category}_price": f"{quantity}.0{n}",
                }
            quantity = sum(int(v) for k, v in figures.items() if k.endswith("_paid_quantity"))
            total = sum(Decimal(v) for k, v in figures.items() if k.endswith("_price"))
            rows.append(
                usage_row(
                    f"2024-01-{day:02d}",
                    quantity=str(quantity),
                    paid_quantity=str(quantity),
                    total_price=str(total),
                    **figures,
                )
            )
        responses.append(raw(balance_text(*rows), client_id=f"client-{client:03d}"))

    frames = usage_frames(responses)

    assert frames.daily.height == 200 * 31
    assert frames.daily["client_id"].n_unique() == 200
    expected_total = sum(
        Decimal(f"{(c + d + n) % 4}.0{n}")
        for c in range(200)
        for d in range(1, 32)
        for n in range(len(categories))
    )
    assert frames.daily["total_price"].sum() == expected_total
    assert frames.by_category["price"].sum() == expected_total
    assert set(frames.by_category["category"].unique()) == set(categories)
    # zero rows dropped: a category with quantity 0 on a row has price 0.0n != 0 unless n == 0
    dropped = sum(1 for c in range(200) for d in range(1, 32) if (c + d) % 4 == 0)
    assert frames.by_category.height == 200 * 31 * len(categories) - dropped
