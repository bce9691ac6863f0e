from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from statistics import median

import pytest
from finance.book import Book, Day, days_between, query

from pipeline.warehouse import Warehouse

MAY = date(2024, 5, 1)


@pytest.fixture
def spiky(tmp_path) -> tuple[Book, Warehouse]:
    """steady costs 2.00 a day with some idle days, then a day of 30.00 and one of 5.00;
    small costs 0.10 a day, then one of 1.00 (ten times, but not 10.00 above)."""
    book = Book()
    for client_id in ("steady", "small"):
        book.client(client_id)
        book.cover(client_id, MAY, date(2024, 5, 31))
    for day in days_between(MAY, date(2024, 5, 31)):
        if day.day % 6 != 0:  # every sixth day: fetched, no usage (counts as 0)
            book.days.append(Day("steady", day, "EUR", Decimal(2)))
        book.days.append(Day("small", day, "USD", Decimal("0.10")))
    special = {
        ("steady", date(2024, 5, 20)): Decimal(30),
        ("steady", date(2024, 5, 25)): Decimal(5),
        ("steady", date(2024, 5, 10)): Decimal(40),  # too early: only 9 days behind it
        ("small", date(2024, 5, 22)): Decimal("1.00"),
    }
    book.days = [
        Day(
            d.client_id,
            d.usage_date,
            d.currency,
            special.get((d.client_id, d.usage_date), d.total_price),
        )
        for d in book.days
    ]
    return book, book.write(Warehouse(tmp_path / "wh.sqlite"))


def test_spike_is_three_times_the_median_of_the_28_days_before_and_10_above(spiky):
    book, wh = spiky
    rows = query(
        wh,
        "SELECT client_id, usage_date, cost, median_cost_28d, excess_cost, spike_ratio, "
        "baseline_days FROM cost_spikes",
    )
    by_day = {(d.client_id, d.usage_date): d.total_price for d in book.days}
    day = date(2024, 5, 20)
    before = [by_day.get(("steady", day - timedelta(days=n)), Decimal(0)) for n in range(1, 20)]
    normal = median(before)
    assert rows == [
        {
            "client_id": "steady",
            "usage_date": day,
            "cost": Decimal(30),
            "median_cost_28d": normal,
            "excess_cost": Decimal(30) - normal,
            "spike_ratio": (Decimal(30) / normal).quantize(Decimal("0.01")),
            "baseline_days": 19,
        }
    ]


@pytest.fixture
def numbers(tmp_path) -> Warehouse:
    book = Book()
    book.client("multi")
    book.client("single")
    book.client("none")
    cancelled, terminated = datetime(2024, 5, 10, tzinfo=UTC), datetime(2024, 6, 9, tzinfo=UTC)
    book.channels = [
        {"channel_id": "c1", "client_id": "multi", "app_id": "a1", "hub_status": "live",
         "current_quality_rating": "High", "current_limit": "TIER_1K", "phone_number": "+491"},
        {"channel_id": "c2", "client_id": "multi", "app_id": "a2", "hub_status": "live",
         "current_quality_rating": "YELLOW", "current_limit": "TIER_10K", "phone_number": "+492"},
        {"channel_id": "c3", "client_id": "multi", "app_id": "a3",
         "hub_status": "pending_deletion", "current_quality_rating": "Low",
         "current_limit": "TIER_250", "cancelled_at": cancelled},
        {"channel_id": "c4", "client_id": "multi", "app_id": "a4", "hub_status": "unregistered",
         "current_quality_rating": "High", "current_limit": "TIER_100K",
         "cancelled_at": cancelled, "terminated_at": terminated},
        {"channel_id": "c5", "client_id": "single", "app_id": "a5", "hub_status": "pending",
         "current_quality_rating": None, "current_limit": "TIER_250"},
    ]  # fmt: skip
    for client_id in ("multi", "single"):
        book.cover(client_id, MAY, date(2024, 5, 31))
    day = date(2024, 5, 3)
    book.days = [Day("multi", day, "EUR", Decimal("10.00")), Day("single", day, "EUR", Decimal(1))]
    book.channel_days = [
        ("multi", "a1", "c1", day, "EUR", 5, Decimal("6.25")),
        ("multi", "a1", "c1", day + timedelta(days=1), "EUR", 1, Decimal("0.75")),
        ("multi", "a3", "c3", day, "EUR", 2, Decimal("2.50")),
        ("multi", "unattributed", None, day, "EUR", 1, Decimal("1.25")),
        ("single", "a5", "c5", day, "EUR", 3, Decimal(1)),
    ]
    # multi's daily total on the 4th comes only from channel a1 (0.75), as the API reports it.
    book.days.append(Day("multi", day + timedelta(days=1), "EUR", Decimal("0.75")))
    return book.write(Warehouse(tmp_path / "wh.sqlite"))


def test_channel_inventory_counts_states_against_max_channels(numbers):
    rows = {
        r.pop("client_id"): r
        for r in query(
            numbers, "SELECT * EXCLUDE (client_name, client_status) FROM channel_inventory"
        )
    }
    assert rows["multi"] == {
        "max_channels": 2,
        "channels_total": 4,
        "channels_live": 2,
        "channels_cancelled": 1,
        "channels_terminated": 1,
        "channels_other": 0,
        "channels_in_use": 3,
        "slots_left": -1,
        "quality_high": 1,
        "quality_medium": 1,
        "quality_low": 1,
        "quality_unknown": 0,
        "messaging_limits": "TIER_10K, TIER_1K, TIER_250",
    }
    assert rows["single"]["channels_other"] == 1 and rows["single"]["quality_unknown"] == 1
    assert rows["none"]["channels_total"] == 0 and rows["none"]["slots_left"] == 2


def test_channel_monthly_cost_shares_its_clients_month(numbers):
    rows = {
        r.pop("app_id"): r
        for r in query(
            numbers,
            "SELECT app_id, channel_id, phone_number, quantity, cost, client_cost, "
            "share_of_client_cost, days_with_usage, month_complete FROM channel_monthly_cost "
            "WHERE client_id = 'multi'",
        )
    }
    client_cost = Decimal("10.75")
    assert rows["a1"] == {
        "channel_id": "c1",
        "phone_number": "+491",
        "quantity": 6,
        "cost": Decimal(7),
        "client_cost": client_cost,
        "share_of_client_cost": (Decimal(7) / client_cost).quantize(Decimal("0.0001")),
        "days_with_usage": 2,
        "month_complete": True,
    }
    assert rows["unattributed"]["channel_id"] is None
    assert sum(r["cost"] for r in rows.values()) == client_cost
