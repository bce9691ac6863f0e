from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from finance.book import Book, Day, days_between, query
from finance.conftest import AUGUST, JULY, JUNE, daily_sum

from pipeline.warehouse import Warehouse

RECONCILIATION = (
    "SELECT client_id, month, currency, daily_total_price, api_month_total_price, difference, "
    "days_covered, status FROM usage_reconciliation_monthly"
)


def reconciliation(wh: Warehouse) -> dict[tuple, dict]:
    return {
        (r.pop("client_id"), r.pop("month"), r.pop("currency")): r
        for r in query(wh, RECONCILIATION)
    }


def test_each_status_with_its_figures(summer, summer_wh):
    rows = reconciliation(summer_wh)
    eu_june, eu_july = daily_sum(summer, "eu", JUNE), daily_sum(summer, "eu", JULY)
    assert rows[("eu", JUNE, "EUR")] == {
        "daily_total_price": eu_june,
        "api_month_total_price": eu_june,
        "difference": Decimal(0),
        "days_covered": 30,
        "status": "match",
    }
    assert rows[("eu", JULY, "EUR")] == {
        "daily_total_price": eu_july,
        "api_month_total_price": eu_july + Decimal("0.0000000001"),
        "difference": Decimal("-0.0000000001"),
        "days_covered": 31,
        "status": "mismatch",
    }
    assert rows[("late", JULY, "EUR")] == {
        "daily_total_price": Decimal(0),
        "api_month_total_price": Decimal(7),
        "difference": Decimal(-7),
        "days_covered": 0,
        "status": "month_not_fetched",
    }
    assert rows[("late", AUGUST, "EUR")]["status"] == "incomplete"
    assert rows[("late", AUGUST, "EUR")]["days_covered"] == 22
    assert rows[("late", AUGUST, "EUR")]["difference"] == Decimal(0)


def test_a_month_the_api_has_no_figure_for_compares_with_zero(summer, summer_wh):
    us_june = reconciliation(summer_wh)[("us", JUNE, "USD")]
    assert us_june["api_month_total_price"] == Decimal(0)
    assert us_june["difference"] == daily_sum(summer, "us", JUNE) > 0
    assert us_june["status"] == "mismatch"


def test_every_client_month_of_either_side_has_one_row(summer, summer_wh):
    daily_side = {(d.client_id, d.month, d.currency) for d in summer.days}
    api_side = {(c, m, cur) for c, m, cur, *_ in summer.api_months}
    assert sorted(reconciliation(summer_wh)) == sorted(daily_side | api_side)


def test_revised_month_mismatches_until_its_days_are_fetched_again(tmp_path):
    """The API revises days after they were loaded: its month figure moves, ours not yet."""
    month, days = date(2024, 2, 1), days_between(date(2024, 2, 1), date(2024, 2, 29))
    book = Book()
    book.client("rev", datetime(2023, 1, 1, tzinfo=UTC))
    book.cover("rev", days[0], days[-1])
    book.days = [Day("rev", d, "EUR", Decimal("1.25")) for d in days]
    revised_last_day = Decimal("1.3125")
    book.api_months = [("rev", month, "EUR", 290, 232, Decimal("1.25") * 28 + revised_last_day)]
    wh = book.write(Warehouse(tmp_path / "wh.sqlite"))
    before = reconciliation(wh)[("rev", month, "EUR")]
    assert (before["status"], before["difference"]) == ("mismatch", Decimal("-0.0625"))

    with wh.write() as con:  # the day fetched again, as a re-run replaces it
        con.execute(
            "UPDATE usage_daily SET total_price = ? WHERE client_id = 'rev' AND usage_date = ?",
            [revised_last_day, days[-1]],
        )
    after = reconciliation(wh)[("rev", month, "EUR")]
    assert (after["status"], after["difference"]) == ("match", Decimal(0))
