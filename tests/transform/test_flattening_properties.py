"""Property-based: whatever categories, missing fields and key orders an answer has, the tidy
frames hold the same totals as an independent sum of the literals, or the answer is refused
with one line naming the client, the period and the field."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transform.raw_texts import balance_text, raw

from pipeline.transform import UsageFormatError, batch_frames, usage_frames

CATEGORY = st.from_regex(r"[a-z]{2,12}(_[a-z]{2,8})?", fullmatch=True).filter(
    # "<x>_paid" would read as category x, measure paid_quantity: the API's naming cannot tell
    lambda name: (
        name not in {"free", "paid", "total"}
        and not name.startswith(("paid", "free"))
        and not name.endswith("_paid")
    )
)
MONEY = st.decimals(min_value=0, max_value=Decimal("99999.9999999999"), places=10).map(
    lambda d: d.normalize()
)
COUNT = st.integers(min_value=0, max_value=10**9)


@st.composite
def usage_rows(draw) -> list[dict]:
    """Rows of distinct days; each category present on some rows and absent on others."""
    categories = draw(st.lists(CATEGORY, min_size=0, max_size=5, unique=True))
    days = draw(st.lists(st.integers(0, 60), min_size=0, max_size=8, unique=True))
    rows = []
    for offset in days:
        row: dict = {"period_date": f"{date(2024, 1, 1) + timedelta(days=offset)}T00:00:00Z"}
        for category in categories:
            if draw(st.booleans()):
                row[f"{category}_quantity"] = draw(COUNT)
                row[f"{category}_paid_quantity"] = draw(COUNT)
                row[f"{category}_price"] = draw(MONEY)
        # totals as the API states them (independent of the categories, as on the wire)
        row["quantity"] = draw(COUNT)
        row["paid_quantity"] = draw(COUNT)
        row["total_price"] = draw(MONEY)
        if draw(st.booleans()):
            row["free_quantity"] = draw(COUNT)
        rows.append(row)
    return rows


def literal(value: object) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def body(rows: list[dict], seed: int) -> str:
    shuffled = []
    for row in rows:
        items = list(row.items())
        random.Random(seed).shuffle(items)  # key order must not matter
        shuffled.append(
            "{"
            + ", ".join(
                f'"{k}": "{v}"' if k == "period_date" else f'"{k}": {literal(v)}' for k, v in items
            )
            + "}"
        )
    return balance_text(*shuffled)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=usage_rows(), seed=st.integers(0, 1000))
def test_totals_and_categories_equal_an_independent_sum(rows, seed) -> None:
    frames = usage_frames([raw(body(rows, seed))])

    assert frames.daily.height == len(rows)
    assert sum(frames.daily["total_price"].to_list(), Decimal(0)) == sum(
        (Decimal(r["total_price"]) for r in rows), Decimal(0)
    )
    assert frames.daily["free_quantity"].sum() == sum(r.get("free_quantity", 0) for r in rows)
    expected = {
        (r["period_date"][:10], key.removesuffix("_price")): Decimal(value)
        for r in rows
        for key, value in r.items()
        if key.endswith("_price") and key != "total_price"
    }
    got = {
        (str(d), c): p
        for d, c, p, q, pq in frames.by_category.select(
            "usage_date", "category", "price", "quantity", "paid_quantity"
        ).iter_rows()
    }
    # all-zero categories are not stored; every other one is, at its exact price
    assert got == {
        key: price
        for key, price in expected.items()
        if price or any(rows_value(rows, key, m) for m in ("quantity", "paid_quantity"))
    }


def rows_value(rows: list[dict], key: tuple[str, str], measure: str) -> int:
    day, category = key
    row = next(r for r in rows if r["period_date"].startswith(day))
    return row.get(f"{category}_{measure}", 0)


@settings(max_examples=40, deadline=None)
@given(
    field=st.sampled_from(["quantity", "paid_quantity", "total_price", "marketing_price"]),
    bad=st.sampled_from(['"abc"', "-1", "1e30", "0.000000000001", "null", "[1]", "true"]),
)
def test_a_bad_value_is_one_line_naming_client_period_and_field(field, bad) -> None:
    row = {"quantity": "1", "paid_quantity": "1", "total_price": "0.5", "marketing_price": "0.5"}
    row[field] = bad
    text = balance_text(
        "{"
        + '"period_date": "2024-05-06T00:00:00Z", '
        + ", ".join(f'"{k}": {v}' for k, v in row.items())
        + "}"
    )
    try:
        frames = usage_frames([raw(text)])
    except UsageFormatError as error:
        message = str(error)
        assert message.startswith(f"client c1, period 2024-05-06T00:00:00Z: field '{field}' "), (
            message
        )
        assert "\n" not in message
    else:
        # only a null category figure passes: a category absent from a row counts 0 there
        assert (field, bad) == ("marketing_price", "null"), (field, bad, frames.daily)


@settings(max_examples=30, deadline=None)
@given(rows=usage_rows(), bad_client=st.integers(0, 3))
def test_a_malformed_answer_fails_only_its_own_client(rows, bad_client) -> None:
    answers = []
    for n in range(4):
        text = '{"balance": 0, "currency": "eur"}' if n == bad_client else body(rows, n)
        answers.append(raw(text, client_id=f"c{n}"))

    frames = batch_frames([_Answer(a) for a in answers])

    assert set(frames.failures) == {f"c{bad_client}"}
    assert "field 'usage' is missing" in str(frames.failures[f"c{bad_client}"])
    assert set(frames.usage.daily["client_id"]) <= {f"c{n}" for n in range(4) if n != bad_client}
    assert frames.usage.daily.height == 3 * len(rows)


class _Answer:
    """A balance answer as the API client hands it over, built from a RawBalance."""

    def __init__(self, raw_balance) -> None:
        self.client_id = raw_balance.client_id
        self.content = raw_balance.raw_text.encode()
        self.fetched_at = raw_balance.fetched_at
        self.start = self.end = date(2024, 1, 1)
        self.granularity = "day"
        self.app_id = None
