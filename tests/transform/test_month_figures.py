"""MONTH-granularity answers -> usage_monthly_api rows: exact, one per client and month."""

from datetime import date
from decimal import Decimal

import pytest
from transform.raw_texts import raw, usage_row

from pipeline.transform import UsageFormatError
from pipeline.transform.batch import monthly_api_frame
from pipeline.transform.schemas import USAGE_MONTHLY_API


def month_text(*rows: str) -> str:
    return (
        '{"balance": 0, "currency": "usd", "granularity": "month", "usage": ['
        + ", ".join(rows)
        + "]}"
    )


def test_month_rows_keep_the_apis_exact_totals_dated_the_first() -> None:
    text = month_text(
        usage_row("2024-01-01", quantity="310", paid_quantity="300", total_price="12.3456789"),
        usage_row("2024-02-01", quantity="5", paid_quantity="0", total_price="0"),
    )
    frame = monthly_api_frame([raw(text)])
    assert frame.schema == USAGE_MONTHLY_API
    assert frame.select("month", "currency", "quantity", "paid_quantity", "total_price").rows() == [
        (date(2024, 1, 1), "USD", 310, 300, Decimal("12.3456789")),
        (date(2024, 2, 1), "USD", 5, 0, Decimal("0")),
    ]


def test_a_month_row_not_dated_the_first_is_refused() -> None:
    text = month_text(usage_row("2024-01-15", quantity="1", paid_quantity="1", total_price="1"))
    with pytest.raises(UsageFormatError, match="'period_date' is not the 1st of a month"):
        monthly_api_frame([raw(text)])


def test_a_day_answer_is_not_read_as_months() -> None:
    text = month_text().replace('"month"', '"day"')
    with pytest.raises(UsageFormatError, match="granularity' is 'day', expected 'month'"):
        monthly_api_frame([raw(text)])
