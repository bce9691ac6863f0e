"""Arrow's column-wise read of the bodies gives exactly the frames of the exact Python parse, and
every form Arrow reads more leniently sends the batch the exact way, which refuses or accepts it
as it always did."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transform.raw_texts import T0, balance_text, raw, usage_row, vendor_text
from transform.test_flattening_properties import _Answer, body, usage_rows

import pipeline.transform.columnar as columnar
from pipeline.transform import (
    UsageFormatError,
    balance_snapshots_frame,
    batch_frames,
    usage_frames,
)
from pipeline.transform.columnar import read_bodies


def outcome(transform, answers):
    """What `transform` gives: its frames, or its error's message."""
    try:
        result = transform(answers)
    except UsageFormatError as error:
        return f"refused: {error}"
    if isinstance(result, pl.DataFrame):
        return result
    frames = {}
    for name, value in vars(result).items():
        if name == "failures":
            frames[name] = {client: str(error) for client, error in value.items()}
        else:
            frames[name] = vars(value) if hasattr(value, "daily") else value
    return frames


def exactly(transform, answers, monkeypatch):
    """What `transform` gives when Arrow reads nothing: the exact parse alone."""
    with monkeypatch.context() as patched:
        patched.setattr(columnar, "read_bodies", lambda raws: None)
        return outcome(transform, answers)


def assert_same(left, right) -> None:
    if isinstance(left, pl.DataFrame) and isinstance(right, pl.DataFrame):
        assert left.schema == right.schema and left.equals(right)
    elif isinstance(left, dict) and isinstance(right, dict):
        assert left.keys() == right.keys()
        for key in left:
            assert_same(left[key], right[key])
    else:
        assert left == right


def one_row(**fields: str) -> str:
    totals = {"quantity": "1", "paid_quantity": "1", "total_price": "0.5"} | fields
    return balance_text(usage_row("2024-05-06", **totals))


def test_plain_bodies_are_read_by_arrow_and_give_the_exact_frames(monkeypatch) -> None:
    texts = [
        vendor_text(),  # printed over many lines
        one_row(marketing_price="0.0712", marketing_quantity="3"),
        balance_text(
            usage_row("2025-07-01", quantity="2", paid_quantity="2", total_price="7.5"),
            extra=', "note": "x"',
        ).replace('"balance": 0', '"balance": -3.5'),  # a balance may run below zero
    ]
    answers = [raw(text, client_id=f"c{n}") for n, text in enumerate(texts)]
    assert read_bodies(answers) is not None
    for transform in (usage_frames, balance_snapshots_frame):
        assert_same(outcome(transform, answers), exactly(transform, answers, monkeypatch))


def test_a_category_arrow_does_not_know_is_read_exactly_in_a_second_pass() -> None:
    text = one_row(
        marketing_lite_v2_quantity="2",
        marketing_lite_v2_paid_quantity="2",
        marketing_lite_v2_price="12345678901234567.1234567891",
    )
    assert "marketing_lite_v2" not in columnar.KNOWN_CATEGORIES
    read = read_bodies([raw(text)])
    assert read is not None
    [[row]] = read["usage"].to_list()
    assert row["marketing_lite_v2_price"] == Decimal("12345678901234567.1234567891")
    frames = usage_frames([raw(text)])
    assert frames.by_category.select("category", "price").rows() == [
        ("marketing_lite_v2", Decimal("12345678901234567.1234567891"))
    ]


@pytest.mark.parametrize(
    "text",
    [
        one_row(quantity="-0"),  # Arrow: 0
        one_row(marketing_price="-0.00"),
        one_row(marketing_price='"-0"'),
        one_row(marketing_price='"+5"'),  # Arrow: 5
        one_row(marketing_price='".5"'),
        one_row(marketing_price='"5."'),
        one_row(marketing_price='"9.E5"'),
        one_row(total_price="1e30"),  # Arrow: a 29-digit number
        one_row(total_price="6E30"),
        one_row(total_price="2.5E+2"),  # exact, and still the exact way's to decide
        one_row(marketing_price='"\\u002d1"'),  # "-1"
        one_row(unknown="NaN"),
        one_row(unknown="-Infinity"),
        one_row(unknown="Inf"),  # not JSON, but Arrow reads it
    ],
)
def test_a_form_arrow_reads_leniently_is_left_to_the_exact_parse(text, monkeypatch) -> None:
    answers = [raw(text)]
    assert read_bodies(answers) is None
    assert_same(outcome(usage_frames, answers), exactly(usage_frames, answers, monkeypatch))


@pytest.mark.parametrize(
    "text",
    [
        one_row(total_price="12345678901234567890123456789"),  # 29 digits: beyond MONEY
        one_row(marketing_price="-1.25"),
        one_row(utility_quantity="-1"),
        one_row(total_price="null"),
        one_row(total_price="0.00000000001"),
        one_row(quantity="99999999999999999999"),
        one_row(quantity='"7"'),  # a count as a string: the exact parse accepts it
        one_row(free_tier="true"),
        one_row(marketing_price='{"amount": 1}'),
        one_row(unknown="[1]"),
        one_row(unknown='{"a": 1}'),
        '{"balance": 0, "currency": "eur", "usage": [null]}',
        '{"balance": 0, "currency": "eur", "usage": null}',
        '{"balance": 0, "currency": " eur ", "usage": []}',
        '{"balance": 0, "currency": "eur", "usage": [], "usage": []}',
        '{"balance": 0, "currency": "eur", "granularity": "month", "usage": []}',
        '{"balance": 0, "currency": 5, "usage": []}',
        '{"balance": 0, "usage": [' + usage_row("2024-05-06", quantity="0") + "]}",
        '{"balance": 0, "currency": "eur", "usage": []} {"balance": 1}',
        "",
        '["usage"]',
        '{"usage": [',
    ],
)
def test_what_the_checks_after_the_read_doubt_is_decided_as_by_the_exact_parse(
    text, monkeypatch
) -> None:
    answers = [raw(text, client_id="bad"), raw(one_row(), client_id="good")]
    for transform in (usage_frames, balance_snapshots_frame):
        assert_same(outcome(transform, answers), exactly(transform, answers, monkeypatch))
    batch = [_Answer(answer) for answer in answers]
    assert_same(outcome(batch_frames, batch), exactly(batch_frames, batch, monkeypatch))


def test_a_malformed_answer_costs_its_batch_one_exact_pass_and_the_rest_is_read(
    monkeypatch,
) -> None:
    reads = []
    real = columnar.read_bodies

    def counted(raws):
        read = real(raws)
        reads.append((len(raws), read is not None))
        return read

    monkeypatch.setattr(columnar, "read_bodies", counted)
    answers = [raw(one_row(marketing_price="-1"), client_id="bad")]
    answers += [raw(one_row(), client_id=f"c{n}") for n in range(3)]
    frames = batch_frames([_Answer(answer) for answer in answers])
    assert set(frames.failures) == {"bad"}
    assert frames.usage.daily["client_id"].to_list() == ["c0", "c1", "c2"]
    # the first read fails the value checks; the batch without "bad" is read by Arrow again
    assert reads == [(4, True), (3, True)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=usage_rows(), seed=st.integers(0, 1000), negative_balance=st.booleans())
def test_any_plain_batch_gives_the_exact_frames(rows, seed, negative_balance) -> None:
    text = body(rows, seed)
    if negative_balance:
        text = text.replace('"balance": 0', '"balance": -12.5', 1)
    answers = [
        _Answer(raw(text, client_id="c1")),
        _Answer(raw(body(rows[::-1], seed + 1), client_id="c2", fetched_at=T0 + timedelta(1))),
    ]
    fast = outcome(batch_frames, answers)
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(columnar, "read_bodies", lambda raws: None)
        exact = outcome(batch_frames, answers)
    assert_same(fast, exact)
