from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

from finance.book import Book, Day, cents, days_in_month, query
from finance.conftest import AUGUST, DEFAULT_MARKUP, JULY, JUNE

from pipeline.warehouse import Warehouse


def expected_statement(book: Book) -> dict[tuple, dict]:
    """client_monthly_statement computed from the book's rows with Decimal and the calendar."""
    sums: dict[tuple, dict] = defaultdict(
        lambda: {"quantity": 0, "paid": 0, "free": 0, "cost": Decimal(0)}
    )
    for d in book.days:
        row = sums[(d.client_id, d.month, d.currency)]
        row["quantity"] += d.quantity
        row["paid"] += d.paid_quantity
        row["free"] += d.free_quantity
        row["cost"] += d.total_price
    expected = {}
    for (client_id, month, currency), row in sums.items():
        in_force = [
            (valid_from or date.min, pct)
            for c, valid_from, pct in book.markups
            if c == client_id and (valid_from is None or valid_from <= month)
        ]
        markup = max(in_force)[1] if in_force else DEFAULT_MARKUP
        covered = sum(1 for c, d in book.coverage if c == client_id and d.replace(day=1) == month)
        expected[(client_id, month, currency)] = {
            "client_name": book.clients.get(client_id),
            "quantity": row["quantity"],
            "paid_quantity": row["paid"],
            "free_quantity": row["free"],
            "cost": row["cost"],
            "markup_pct": markup,
            "billable_amount": cents(row["cost"] * (1 + markup / 100)),
            "days_covered": covered,
            "month_complete": covered == days_in_month(month),
        }
    return expected


def statement_rows(wh: Warehouse) -> dict[tuple, dict]:
    return {
        (r.pop("client_id"), r.pop("month"), r.pop("currency")): r
        for r in query(
            wh,
            "SELECT client_id, client_name, month, currency, quantity, paid_quantity, "
            "free_quantity, cost, markup_pct, billable_amount, days_covered, month_complete "
            "FROM client_monthly_statement",
        )
    }


def test_statement_matches_the_days_summed_in_python(summer, summer_wh):
    assert statement_rows(summer_wh) == expected_statement(summer)


def test_markup_changes_in_july_and_other_clients_get_the_default(summer_wh):
    rows = statement_rows(summer_wh)
    assert rows[("eu", JUNE, "EUR")]["markup_pct"] == Decimal(10)
    assert rows[("eu", JULY, "EUR")]["markup_pct"] == Decimal("12.5")
    assert rows[("eu", AUGUST, "EUR")]["markup_pct"] == Decimal("12.5")
    assert rows[("us", JUNE, "USD")]["markup_pct"] == DEFAULT_MARKUP


def test_client_without_usage_has_no_statement_and_months_stay_apart(summer_wh):
    rows = statement_rows(summer_wh)
    assert not [key for key in rows if key[0] == "idle"]
    assert {key[1] for key in rows if key[0] == "eu"} == {JUNE, JULY, AUGUST}
    assert {key[2] for key in rows if key[0] == "us"} == {"USD"}


def test_partly_fetched_month_is_not_complete(summer_wh):
    rows = statement_rows(summer_wh)
    assert rows[("late", AUGUST, "EUR")]["days_covered"] == 22
    assert rows[("late", AUGUST, "EUR")]["month_complete"] is False
    assert rows[("gone", JUNE, "EUR")]["client_name"] is None
    assert rows[("eu", AUGUST, "EUR")]["month_complete"] is True


def test_billable_amount_rounds_half_away_from_zero_to_the_cent(tmp_path):
    # (cost, markup) -> billable: each lands exactly on half a cent, or just below it.
    cases = {
        "c1": (Decimal("1.005"), Decimal(0), Decimal("1.01")),  # bankers' rounding gives 1.00
        "c2": (Decimal("2.675"), Decimal(0), Decimal("2.68")),  # binary floats give 2.67
        "c3": (Decimal("0.05"), Decimal(10), Decimal("0.06")),  # 0.055
        "c4": (Decimal("0.0049999999"), Decimal(0), Decimal("0.00")),
        "c5": (Decimal("10.0045"), Decimal("0.0050"), Decimal("10.01")),  # 10.005000225
        "c6": (Decimal("0.15"), Decimal("-10"), Decimal("0.14")),  # 0.135, a discount
        "c7": (Decimal("123456789.9999999999"), Decimal("12.3456"), Decimal("138698271.47")),
    }
    book = Book(settings=(Decimal(0), 7))
    month = date(2024, 2, 1)
    for client_id, (cost, markup, _) in cases.items():
        book.client(client_id, datetime(2024, 1, 1, tzinfo=UTC))
        book.cover(client_id, month, date(2024, 2, 29))
        book.days.append(Day(client_id, date(2024, 2, 29), "EUR", cost))
        book.markups.append((client_id, None, markup))
    wh = book.write(Warehouse(tmp_path / "wh.sqlite"))
    rows = statement_rows(wh)
    for client_id, (cost, markup, billable) in cases.items():
        assert cents(cost * (1 + markup / 100)) == billable
        assert rows[(client_id, month, "EUR")]["billable_amount"] == billable, client_id
        assert rows[(client_id, month, "EUR")]["month_complete"] is True  # 29 days: 2024 leaps


def test_duckdb_round_on_decimal_is_half_away_from_zero(summer_wh):
    with summer_wh.read() as con:
        got = con.execute(
            "SELECT round(0.005::DECIMAL(38, 10), 2), round(-0.005::DECIMAL(38, 10), 2), "
            "round(2.675::DECIMAL(38, 16), 2), round(-2.675::DECIMAL(38, 16), 2)"
        ).fetchone()
    assert got == (Decimal("0.01"), Decimal("-0.01"), Decimal("2.68"), Decimal("-2.68"))


def test_defaults_apply_until_a_run_writes_the_settings(tmp_path):
    wh = Warehouse(tmp_path / "empty.sqlite")
    with wh.write():
        pass
    assert query(
        wh, "SELECT default_markup_pct, low_balance_days FROM finance_settings_in_force"
    ) == [{"default_markup_pct": Decimal(0), "low_balance_days": 7}]
