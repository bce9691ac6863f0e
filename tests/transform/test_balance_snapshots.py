from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from transform.raw_texts import T0, raw, vendor_text

from pipeline.transform import UsageFormatError, balance_snapshots_frame
from pipeline.transform.schemas import BALANCE_SNAPSHOTS


def test_vendor_example_gives_one_exact_snapshot():
    frame = balance_snapshots_frame([raw(vendor_text())])
    assert frame.schema == BALANCE_SNAPSHOTS
    assert frame.to_dicts() == [
        {
            "client_id": "c1",
            "observed_at": T0,
            "balance": Decimal("50.00"),
            "currency": "EUR",
            "last_renewal_date": datetime(2023, 8, 1, tzinfo=UTC),
            "last_renewal_amount": Decimal("20"),
            "estimated_template_cost": Decimal("0.03"),
            "bi_price_for_currency_and_client_country": Decimal("0.2"),
            "ui_price_for_currency_and_client_country": Decimal("0.02"),
        }
    ]


def test_missing_optional_fields_are_null_and_one_row_per_response():
    later = T0 + timedelta(hours=1)
    frame = balance_snapshots_frame(
        [
            raw('{"balance": 0, "currency": "usd", "last_renewal": null}', client_id="p"),
            raw(
                '{"balance": -3.5, "currency": "Eur", "usage": []}', client_id="p", fetched_at=later
            ),
        ]
    )
    assert frame.rows() == [
        ("p", T0, Decimal(0), "USD", None, None, None, None, None),
        ("p", later, Decimal("-3.5"), "EUR", None, None, None, None, None),
    ]


def test_empty_input_gives_the_schema():
    assert balance_snapshots_frame([]).schema == BALANCE_SNAPSHOTS


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"currency": "eur"}', "client c1, period balance: field 'balance' is missing"),
        ('{"balance": 1}', "client c1, period balance: field 'currency' is missing"),
        (
            '{"balance": 0.123456789012, "currency": "eur"}',
            "field 'balance' has more than 10 decimal places",
        ),
        (
            '{"balance": 1, "currency": "eur", "last_renewal": {"date": "soon", "amount": 2}}',
            "field 'last_renewal_date' is not an ISO timestamp",
        ),
        (
            '{"balance": 1, "currency": "eur", "estimated_template_cost": true}',
            "field 'estimated_template_cost' is not a decimal number: 'True'",
        ),
    ],
)
def test_malformed_balance_raises(text, message):
    with pytest.raises(UsageFormatError, match=message):
        balance_snapshots_frame([raw(text)])
