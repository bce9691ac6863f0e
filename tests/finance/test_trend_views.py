"""The analysis views (category mix, daily trend, month over month, free vs paid) against sums
made in Python from the rows the warehouse was given."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from finance.book import days_between, query
from finance.conftest import AUGUST, JULY, JUNE, SUMMER_END


def ratio(part: Decimal, whole: Decimal, places: str = "0.0001") -> Decimal:
    return (part / whole).quantize(Decimal(places), rounding=ROUND_HALF_EVEN)


def test_month_is_complete_when_every_listed_client_fetched_every_day(summer_wh):
    rows = query(
        summer_wh,
        "SELECT month, clients_expected, clients_complete, month_complete FROM month_coverage "
        "ORDER BY month",
    )
    # late was created on 9 August and fetched from the 10th; gone is no longer listed.
    assert rows == [
        {"month": JUNE, "clients_expected": 3, "clients_complete": 3, "month_complete": True},
        {"month": JULY, "clients_expected": 3, "clients_complete": 3, "month_complete": True},
        {"month": AUGUST, "clients_expected": 4, "clients_complete": 3, "month_complete": False},
    ]


def test_category_mix_counts_each_client_day_in_one_cut(summer, summer_wh):
    both = {(c.client_id, c.usage_date) for c in summer.categories if c.family == "pricing"}
    cost: dict[tuple, Decimal] = defaultdict(Decimal)
    for c in summer.categories:
        if c.family == "pricing" or (c.client_id, c.usage_date) not in both:
            cost[(c.usage_date.replace(day=1), c.currency, c.category)] += c.price
    totals: dict[tuple, Decimal] = defaultdict(Decimal)
    for (month, currency, _), value in cost.items():
        totals[(month, currency)] += value
    rows = query(
        summer_wh, "SELECT month, currency, category, cost, share_of_cost FROM category_mix_monthly"
    )
    assert {(r["month"], r["currency"], r["category"]): r["cost"] for r in rows} == cost
    for r in rows:
        total = totals[(r["month"], r["currency"])]
        assert r["share_of_cost"] == ratio(r["cost"], total)
    # The extra direction row of 2 July is left out: July's categories add up to July's cost.
    july_eur = sum(d.total_price for d in summer.days if d.month == JULY and d.currency == "EUR")
    assert totals[(JULY, "EUR")] == july_eur


def test_daily_cost_has_a_trailing_week_average_and_month_to_date(summer, summer_wh):
    rows = {
        (r["usage_date"], r["currency"]): r
        for r in query(summer_wh, "SELECT * FROM daily_cost_by_currency")
    }
    days = days_between(JUNE, SUMMER_END)
    assert set(rows) == {(d, cur) for d in days for cur in ("EUR", "USD")}
    cost = defaultdict(Decimal)
    for d in summer.days:
        cost[(d.usage_date, d.currency)] += d.total_price
    for currency in ("EUR", "USD"):
        month_to_date = Decimal(0)
        for n, day in enumerate(days):
            row = rows[(day, currency)]
            month_to_date = (month_to_date if day.day > 1 else Decimal(0)) + cost[(day, currency)]
            assert row["cost"] == cost[(day, currency)]
            assert row["cost_month_to_date"] == month_to_date
            week = sum((cost[(day - timedelta(days=k), currency)] for k in range(7)), Decimal(0))
            expected_avg = (week / 7).quantize(Decimal("0.000001")) if n >= 6 else None
            assert row["avg_cost_7d"] == expected_avg, (day, currency)
            assert row["month_complete"] is (day.month != 8)


def test_month_over_month_change_and_rank(summer, summer_wh):
    monthly = defaultdict(Decimal)
    for d in summer.days:
        monthly[(d.client_id, d.month, d.currency)] += d.total_price
    rows = {
        (r.pop("client_id"), r.pop("month")): r
        for r in query(
            summer_wh,
            "SELECT client_id, month, cost, previous_month_cost, cost_change, cost_change_pct, "
            "rank_in_month FROM client_cost_change_monthly WHERE currency = 'EUR'",
        )
    }
    eu_july, eu_june = monthly[("eu", JULY, "EUR")], monthly[("eu", JUNE, "EUR")]
    assert rows[("eu", JULY)] == {
        "cost": eu_july,
        "previous_month_cost": eu_june,
        "cost_change": eu_july - eu_june,
        "cost_change_pct": ratio((eu_july - eu_june) * 100, eu_june, "0.01"),
        "rank_in_month": 1,
    }
    # gone stopped in June: July shows nothing for it, since July was never fetched for gone.
    assert ("gone", JULY) not in rows and rows[("gone", JUNE)]["rank_in_month"] == 2
    # late had no day of July fetched: no previous figure rather than a made-up 0.
    assert rows[("late", AUGUST)]["previous_month_cost"] is None
    august = sorted((r["rank_in_month"], c) for (c, m), r in rows.items() if m == AUGUST)
    by_cost = sorted(
        ((-monthly[(c, AUGUST, "EUR")], c) for c in ("eu", "late")), key=lambda t: t[0]
    )
    assert [c for _, c in august] == [c for _, c in by_cost]


def test_a_drop_to_zero_shows_as_a_row_with_zero_cost(tmp_path):
    from finance.book import Book, Day

    from pipeline.warehouse import Warehouse

    book = Book()
    book.client("stop")
    book.cover("stop", JUNE, date(2024, 7, 31))
    book.days = [Day("stop", date(2024, 6, 3), "EUR", Decimal("4.5"))]
    wh = book.write(Warehouse(tmp_path / "wh.sqlite"))
    july = query(
        wh,
        "SELECT cost, previous_month_cost, cost_change, cost_change_pct "
        "FROM client_cost_change_monthly WHERE month = ?",
        [JULY],
    )
    assert july == [
        {
            "cost": Decimal(0),
            "previous_month_cost": Decimal("4.5"),
            "cost_change": Decimal("-4.5"),
            "cost_change_pct": Decimal("-100.00"),
        }
    ]


def test_free_versus_paid_per_month_and_currency(summer, summer_wh):
    sums = defaultdict(lambda: [0, 0, 0, 0, 0])
    for d in summer.days:
        row = sums[(d.month, d.currency)]
        for i, value in enumerate(
            (d.quantity, d.paid_quantity, d.free_quantity, d.free_tier, d.free_entry_point)
        ):
            row[i] += value
    rows = query(
        summer_wh,
        "SELECT month, currency, quantity, paid_quantity, free_quantity, free_tier, "
        "free_entry_point, free_share FROM free_vs_paid_monthly",
    )
    assert {(r["month"], r["currency"]): list(r.values())[2:7] for r in rows} == dict(sums)
    for r in rows:
        assert r["free_share"] == ratio(Decimal(r["free_quantity"]), Decimal(r["quantity"]))
