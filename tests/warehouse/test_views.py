from datetime import date, timedelta
from decimal import Decimal

import pytest
from warehouse.wh_frames import (
    CHANNELS,
    CLIENTS,
    T0,
    category,
    channel,
    client,
    day,
    frame,
    usage_load,
)

from pipeline.warehouse import create_views, load_channels, load_clients, load_usage
from pipeline.warehouse.schema import view_order

M1, M2 = date(2024, 3, 30), date(2024, 4, 1)
VIEWS = {
    "usage_monthly_by_client",
    "usage_daily_totals_by_currency",
    "usage_by_category_monthly",
    "client_usage_latest",
    "coverage_gaps",
    "channel_status_changes",
    "usage_family_mismatches",
    # finance (tests/finance check their figures)
    "client_monthly_statement",
    "usage_reconciliation_monthly",
    "low_balance_watch",
    "partner_balance_watch",
    "channel_monthly_cost",
    "category_mix_monthly",
    "daily_cost_by_currency",
    "client_cost_change_monthly",
    "free_vs_paid_monthly",
    "cost_spikes",
    "channel_inventory",
    "client_month_coverage",
    "month_coverage",
    "finance_settings_in_force",
    # the month close (tests/finance/test_close.py)
    "billable_usage_monthly",
    "statement_draft_lines",
    "open_adjustments",
    "statement_lines_by_month",
}


@pytest.fixture
def loaded(wh):
    load_clients(wh, frame(CLIENTS, [client("eu"), client("us"), client("idle")]), T0)
    days = [
        day("eu", M1, "1.10"),
        day("eu", M2, "2.20"),
        day("us", M1, "10.5", currency="USD"),
        day("us", M1 + timedelta(days=1), "0.0000000001", currency="USD"),
    ]
    cats = [
        category("eu", M1, "marketing", "1.10"),
        category("eu", M2, "marketing", "2.00"),
        category("eu", M1, "business_initiated", "1.10"),
        category("us", M1, "utility", "10.5", currency="USD"),
    ]
    load_usage(wh, **usage_load(["eu", "us"], M1, M2, days, cats))
    # idle was fetched for M1 only (and had no usage), so M2 is a gap for it.
    load_usage(wh, **usage_load(["idle"], M1, M1, []))
    create_views(wh)
    return wh


def query(wh, sql: str) -> list[tuple]:
    with wh.read() as con:
        return con.execute(sql).fetchall()


def test_every_view_is_created_and_recreating_them_is_harmless(wh):
    assert set(create_views(wh)) == VIEWS
    assert set(create_views(wh)) == VIEWS
    assert {
        name for (name,) in query(wh, "SELECT view_name FROM duckdb_views() WHERE NOT internal")
    } == VIEWS


def test_views_are_created_after_the_views_they_read():
    order = view_order(
        {
            "b_totals": "SELECT * FROM a_base",
            "a_base": "SELECT 1",
            "c": "-- mentions b_totals only in a comment\nSELECT 2",
        }
    )
    assert order.index("a_base") < order.index("b_totals")


def test_monthly_usage_is_per_client_month_and_currency_oldest_month_first(loaded):
    # Two days fetched of March and of April: neither month is complete.
    assert query(
        loaded,
        "SELECT client_id, month, currency, days_with_usage, total_price, month_complete "
        "FROM usage_monthly_by_client",
    ) == [
        ("eu", date(2024, 3, 1), "EUR", 1, Decimal("1.10"), False),
        ("us", date(2024, 3, 1), "USD", 2, Decimal("10.5000000001"), False),
        ("eu", date(2024, 4, 1), "EUR", 1, Decimal("2.20"), False),
    ]


def test_a_month_fetched_for_every_day_is_complete_in_the_monthly_usage(wh):
    load_clients(wh, frame(CLIENTS, [client("eu")]), T0)
    march = [M1.replace(day=1) + timedelta(days=i) for i in range(31)]
    load_usage(wh, **usage_load(["eu"], march[0], march[-1], [day("eu", march[4], "3.00")]))
    create_views(wh)
    assert query(wh, "SELECT month, total_price, month_complete FROM usage_monthly_by_client") == [
        (date(2024, 3, 1), Decimal("3.00"), True)
    ]


def test_daily_totals_never_add_two_currencies(loaded):
    assert query(
        loaded,
        "SELECT usage_date, currency, clients_with_usage, total_price "
        "FROM usage_daily_totals_by_currency WHERE usage_date = DATE '2024-03-30' "
        "ORDER BY ALL",
    ) == [(M1, "EUR", 1, Decimal("1.10")), (M1, "USD", 1, Decimal("10.5"))]


def test_category_months_keep_families_apart(loaded):
    assert query(
        loaded,
        "SELECT month, currency, category_family, category, price "
        "FROM usage_by_category_monthly ORDER BY ALL",
    ) == [
        (date(2024, 3, 1), "EUR", "direction", "business_initiated", Decimal("1.10")),
        (date(2024, 3, 1), "EUR", "pricing", "marketing", Decimal("1.10")),
        (date(2024, 3, 1), "USD", "pricing", "utility", Decimal("10.5")),
        (date(2024, 4, 1), "EUR", "pricing", "marketing", Decimal("2.00")),
    ]


def test_coverage_gaps_tell_not_fetched_from_no_usage(loaded):
    # idle has no usage at all, but only M2 was never fetched for it.
    missing = query(loaded, "SELECT client_id, usage_date FROM coverage_gaps ORDER BY ALL")
    assert ("idle", M2) in missing and ("idle", M1) not in missing
    assert {c for c, _ in missing} == {"idle"}


def test_client_usage_latest_has_every_client_with_its_last_30_days(loaded):
    rows = query(
        loaded,
        "SELECT client_id, usage_currency, total_price_30d, usage_window_end "
        "FROM client_usage_latest ORDER BY ALL",
    )
    assert rows == [
        ("eu", "EUR", Decimal("3.30"), M2),
        ("idle", None, None, M2),
        ("us", "USD", Decimal("10.5000000001"), M2),
    ]


def test_family_mismatches_name_the_family_that_does_not_add_up(loaded):
    # eu on M2: marketing 2.00 against a day total of 2.20.
    assert query(
        loaded,
        "SELECT client_id, usage_date, category_family, daily_total_price, "
        "family_price FROM usage_family_mismatches",
    ) == [("eu", M2, "pricing", Decimal("2.20"), Decimal("2.00"))]


def test_channel_status_changes_show_live_to_cancelled(wh):
    load_channels(wh, frame(CHANNELS, [channel("x", "a")]), T0)
    load_channels(
        wh, frame(CHANNELS, [channel("x", "a", phone_name="new name")]), T0 + timedelta(days=1)
    )
    load_channels(
        wh,
        frame(CHANNELS, [channel("x", "a", status="cancelled", hub_status="stopped")]),
        T0 + timedelta(days=2),
    )
    create_views(wh)
    assert query(
        wh,
        "SELECT channel_id, observed_at, previous_status, status, "
        "previous_hub_status, hub_status FROM channel_status_changes",
    ) == [("x", T0 + timedelta(days=2), "ready", "cancelled", "running", "stopped")]
