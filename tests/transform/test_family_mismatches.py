from datetime import date
from decimal import Decimal

from transform.raw_texts import balance_text, raw, usage_row, vendor_text

from pipeline.transform import family_mismatches, usage_frames
from pipeline.transform.schemas import FAMILY_MISMATCHES


def test_consistent_rows_have_no_mismatch():
    frames = usage_frames([raw(vendor_text())])
    found = family_mismatches(frames.daily, frames.by_category)
    assert found.is_empty()
    assert found.schema == FAMILY_MISMATCHES


def test_planted_mismatch_is_reported_per_family_and_measure():
    text = balance_text(
        # pricing adds up (0.1 + 0.2 = 0.3 exactly); direction is filled too and is short by 1
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
            business_initiated_quantity="1",
            business_initiated_paid_quantity="1",
            business_initiated_price="0.3",
        ),
        # unfilled families are not checked: only totals, no category figures
        usage_row("2024-02-02", quantity="7", paid_quantity="0", total_price="0"),
    )
    frames = usage_frames([raw(text)])
    assert family_mismatches(frames.daily, frames.by_category).rows() == [
        ("c1", date(2024, 2, 1), "direction", "paid_quantity", Decimal(2), Decimal(1)),
        ("c1", date(2024, 2, 1), "direction", "quantity", Decimal(2), Decimal(1)),
    ]
