from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from finance.book import Book, query
from finance.conftest import LOW_BALANCE_DAYS, SEPT_1, SUMMER_END


def cost_of_week(book: Book, clients: set[str], currency: str, last_day: date) -> Decimal:
    """The 7 days ending at last_day; a day without a usage row adds nothing (counts as 0)."""
    week = {last_day - timedelta(days=n) for n in range(7)}
    return sum(
        (
            d.total_price
            for d in book.days
            if d.client_id in clients and d.currency == currency and d.usage_date in week
        ),
        Decimal(0),
    )


def test_direct_paid_clients_with_days_left_from_the_last_seven_days(summer, summer_wh):
    rows = {
        r.pop("client_id"): r
        for r in query(
            summer_wh,
            "SELECT client_id, currency, balance, observed_at, avg_daily_cost_7d, days_left, "
            "below_threshold, cost_7d, last_fetched_day FROM low_balance_watch",
        )
    }
    # us is partner-paid (balance 0); eu's older, larger snapshot is superseded.
    assert set(rows) == {"eu", "idle"}
    week = cost_of_week(summer, {"eu"}, "EUR", SUMMER_END)
    usage_days = {d.usage_date for d in summer.days if d.client_id == "eu"}
    assert len({SUMMER_END - timedelta(days=n) for n in range(7)} - usage_days) > 0
    assert rows["eu"] == {
        "currency": "EUR",
        "balance": Decimal(45),
        "observed_at": SEPT_1,
        "avg_daily_cost_7d": (week / 7).quantize(Decimal("0.000001")),
        "days_left": round(float(Decimal(45) * 7 / week), 2),
        "below_threshold": Decimal(45) / (week / 7) < LOW_BALANCE_DAYS,
        "cost_7d": week,
        "last_fetched_day": SUMMER_END,
    }
    assert rows["eu"]["below_threshold"] is True  # 45 / 5.11 = 8.8 days left
    assert rows["idle"]["avg_daily_cost_7d"] == 0
    assert rows["idle"]["days_left"] is None
    assert rows["idle"]["below_threshold"] is False


def test_partner_balance_lasts_for_partner_paid_clients_per_currency(summer, summer_wh):
    rows = {
        r.pop("currency"): r
        for r in query(
            summer_wh,
            "SELECT currency, total, cost_7d, avg_daily_cost_7d, days_left, below_threshold, "
            "partner_paid_clients, window_end FROM partner_balance_watch",
        )
    }
    # Partner-paid: us (balance 0), late and gone (no snapshot); eu and idle pay directly.
    usd_week = cost_of_week(summer, {"us"}, "USD", SUMMER_END)
    eur_week = cost_of_week(summer, {"late", "gone"}, "EUR", SUMMER_END)
    assert rows["USD"] == {
        "total": Decimal("1000.5"),
        "cost_7d": usd_week,
        "avg_daily_cost_7d": (usd_week / 7).quantize(Decimal("0.000001")),
        "days_left": round(float(Decimal("1000.5") * 7 / usd_week), 2),
        "below_threshold": Decimal("1000.5") * 7 / usd_week < LOW_BALANCE_DAYS,
        "partner_paid_clients": 1,
        "window_end": SUMMER_END,
    }
    # EUR: partner-paid usage but no partner balance in EUR; GBP: a balance nobody spends.
    assert rows["EUR"]["total"] is None and rows["EUR"]["cost_7d"] == eur_week > 0
    assert rows["EUR"]["partner_paid_clients"] == 1
    assert rows["GBP"]["total"] == Decimal(30) and rows["GBP"]["days_left"] is None
    assert rows["GBP"]["below_threshold"] is False
