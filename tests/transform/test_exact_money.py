"""Money is parsed from the literal text and never rounded; malformed values are one-line errors."""

import re
from decimal import Decimal

import pytest
from transform.raw_texts import balance_text, raw, usage_row

from pipeline.transform import UsageFormatError, usage_frames


def one_row(**fields: str) -> list:
    totals = {"quantity": "1", "paid_quantity": "1", "total_price": "0.5"} | fields
    return [raw(balance_text(usage_row("2024-05-06", **totals)))]


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("0.0712", "0.0712"),
        ("1e-3", "0.001"),
        ("2.5E+2", "250"),
        ("0.10000000000000", "0.1"),
        ("0.0000000001", "0.0000000001"),
        ("123456789012345678.5", "123456789012345678.5"),
    ],
)
def test_exact_literals_are_kept_exactly(literal, expected):
    price = usage_frames(one_row(total_price=literal)).daily["total_price"].item()
    assert price == Decimal(expected)


@pytest.mark.parametrize("literal", ["0.07120000000000001", "0.00000000001", "1e-11", "1.5e-10"])
def test_more_than_ten_decimal_places_raises_instead_of_rounding(literal):
    with pytest.raises(UsageFormatError) as caught:
        usage_frames(one_row(marketing_price=literal))
    message = str(caught.value)
    assert message == (
        f"client c1, period 2024-05-06T00:00:00Z: field 'marketing_price' "
        f"has more than 10 decimal places or is out of range: '{literal}'"
    )
    assert "\n" not in message


@pytest.mark.parametrize(
    ("fields", "field", "problem"),
    [
        ({"quantity": '"many"'}, "quantity", "is not a non-negative integer: 'many'"),
        ({"utility_quantity": "-1"}, "utility_quantity", "is not a non-negative integer: '-1'"),
        ({"paid_quantity": "2.0"}, "paid_quantity", "is not a non-negative integer: '2.0'"),
        ({"free_tier": "true"}, "free_tier", "is not a non-negative integer: 'true'"),
        ({"service_price": '"abc"'}, "service_price", "is not a decimal number: 'abc'"),
        ({"total_price": "null"}, "total_price", "is missing"),
        (
            {"marketing_price": "-1.25"},
            "marketing_price",
            "is negative: '-1.25' (refunds and credits are refused, not summed)",
        ),
        (
            {"quantity": "99999999999999999999"},
            "quantity",
            "is not a non-negative integer: '99999999999999999999'",
        ),
    ],
)
def test_malformed_values_raise_naming_client_period_and_field(fields, field, problem):
    with pytest.raises(UsageFormatError) as caught:
        usage_frames(one_row(**fields))
    assert str(caught.value) == f"client c1, period 2024-05-06T00:00:00Z: field '{field}' {problem}"


def test_missing_required_total_raises():
    text = balance_text(usage_row("2024-05-06", quantity="1", paid_quantity="1"))
    with pytest.raises(UsageFormatError, match="field 'total_price' is missing"):
        usage_frames([raw(text)])


@pytest.mark.parametrize(
    "period",
    [
        "2024-05-06T10:00:00Z",
        "2024-05-06",
        "2024-02-30T00:00:00Z",
        "2024-05-06T00:00:00+02:00",
        "yesterday",
    ],
)
def test_period_date_must_be_midnight_utc(period):
    text = balance_text(
        f'{{"period_date": "{period}", "quantity": 0, "paid_quantity": 0, "total_price": 0}}'
    )
    with pytest.raises(UsageFormatError, match=re.escape(f"period {period}: field 'period_date'")):
        usage_frames([raw(text)])


def test_object_where_a_number_belongs_raises():
    with pytest.raises(UsageFormatError, match="field 'marketing_price' is not a scalar"):
        usage_frames(one_row(marketing_price='{"amount": 1}'))


def test_month_granularity_is_refused():
    text = balance_text(usage_row("2024-05-01", quantity="0", paid_quantity="0", total_price="0"))
    with pytest.raises(UsageFormatError, match="granularity"):
        usage_frames([raw(text.replace('"day"', '"month"'))])


def test_usage_without_currency_raises():
    text = (
        '{"usage": ['
        + usage_row("2024-05-06", quantity="0", paid_quantity="0", total_price="0")
        + "]}"
    )
    with pytest.raises(UsageFormatError, match="client c1, period -: field 'currency' is missing"):
        usage_frames([raw(text)])


def test_text_that_is_not_json_raises_a_format_error():
    with pytest.raises(
        UsageFormatError, match="client c1, period -: field '\\(body\\)' is not JSON"
    ):
        usage_frames([raw('{"usage": [')])
