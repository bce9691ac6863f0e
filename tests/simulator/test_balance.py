from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from pipeline.simulator import Simulator, run_simulator

WINDOW = (date(2025, 6, 15), date(2025, 7, 14))  # crosses the per-message pricing start


def busy_client(sim: Simulator, first: date, last: date) -> str:
    """A client with usage on most days of the range (deterministic for the fixed seed)."""
    return max(sim.client_ids(), key=lambda cid: len(sim.expected_usage(cid, first, last)))


def test_day_rows_are_exactly_expected_usage(sim, balance, parse_exact, day_window):
    client_id = busy_client(sim, *WINDOW)
    response = balance(client_id, granularity="day", **day_window(*WINDOW))
    body = parse_exact(response)
    assert body["granularity"] == "day"
    assert body["usage"] == sim.expected_usage(client_id, *WINDOW)
    assert len(body["usage"]) >= 25


def test_month_rows_sum_the_days(sim, balance, parse_exact, day_window):
    client_id = busy_client(sim, *WINDOW)
    months = parse_exact(balance(client_id, granularity="MONTH", **day_window(*WINDOW)))["usage"]
    days = sim.expected_usage(client_id, *WINDOW)
    assert [m["period_date"] for m in months] == ["2025-06-01T00:00:00Z", "2025-07-01T00:00:00Z"]
    june = [d for d in days if d["period_date"].startswith("2025-06")]
    assert months[0]["quantity"] == sum(d["quantity"] for d in june)
    assert months[0]["total_price"] == sum(d["total_price"] for d in june)
    assert months == sim.expected_usage(client_id, *WINDOW, granularity="month")


def test_default_granularity_is_month(sim, balance, parse_exact, day_window):
    client_id = busy_client(sim, *WINDOW)
    assert parse_exact(balance(client_id, **day_window(*WINDOW)))["granularity"] == "month"


def test_app_id_filters_usage_to_those_channels(sim, balance, parse_exact, day_window):
    client_id = max(sim.client_ids(), key=lambda cid: len(sim.channel_app_ids(cid)))
    apps = sim.channel_app_ids(client_id)
    assert len(apps) >= 2
    window = day_window(*WINDOW)
    single = parse_exact(balance(client_id, granularity="day", app_id=apps[0], **window))
    assert single["usage"] == sim.expected_usage(client_id, *WINDOW, app_ids=[apps[0]])
    comma = parse_exact(balance(client_id, granularity="day", app_id=",".join(apps), **window))
    repeated = parse_exact(balance(client_id, granularity="day", app_id=apps, **window))
    everything = parse_exact(balance(client_id, granularity="day", **window))
    assert comma["usage"] == repeated["usage"] == everything["usage"]


def test_days_without_usage_are_absent(sim, balance, parse_exact, day_window):
    quiet = [cid for cid in sim.client_ids() if not sim.expected_usage(cid, *WINDOW)]
    assert quiet, "the seed should give some clients without usage"
    assert parse_exact(balance(quiet[0], granularity="day", **day_window(*WINDOW)))["usage"] == []
    client_id = busy_client(sim, *WINDOW)
    rows = parse_exact(balance(client_id, granularity="day", **day_window(*WINDOW)))["usage"]
    assert all(row["quantity"] > 0 for row in rows)


@pytest.mark.parametrize(
    ("first", "last", "filled", "empty"),
    [
        (
            date(2023, 5, 1),
            date(2023, 5, 31),
            {"business_initiated", "user_initiated"},
            {"authentication", "marketing", "service", "utility"},
        ),
        (
            date(2024, 3, 1),
            date(2024, 3, 31),
            {"authentication", "marketing", "service", "utility"},
            {"business_initiated", "user_initiated"},
        ),
    ],
)
def test_eras_fill_the_right_family(
    sim, balance, parse_exact, day_window, family_totals_match, first, last, filled, empty
):
    client_id = busy_client(sim, first, last)
    rows = parse_exact(balance(client_id, granularity="day", **day_window(first, last)))["usage"]
    assert rows
    for row in rows:
        assert all(row[f"{c}_quantity"] == 0 and row[f"{c}_price"] == 0 for c in empty)
        assert any(row[f"{c}_quantity"] for c in filled)
        assert family_totals_match(row)
        assert not any(
            key.startswith(("marketing_lite", "authentication_international")) for key in row
        )


def test_per_message_categories_appear_from_july_2025(
    sim, balance, parse_exact, day_window, family_totals_match
):
    first, last = date(2025, 7, 1), date(2025, 7, 31)
    seen: set[str] = set()
    for client_id in sim.client_ids():
        window = day_window(first, last)
        for row in parse_exact(balance(client_id, granularity="day", **window))["usage"]:
            assert family_totals_match(row)
            assert row["paid_quantity"] == row["quantity"] - row["free_quantity"]
            assert row["free_quantity"] == row["free_tier"] + row["free_entry_point"]
            seen |= {
                c
                for c in ("marketing_lite", "authentication_international")
                if f"{c}_quantity" in row
            }
    assert seen == {"marketing_lite", "authentication_international"}


def test_money_is_exact_on_the_wire(sim, balance, parse_exact, day_window, family_totals_match):
    client_id = busy_client(sim, *WINDOW)
    response = balance(client_id, granularity="day", **day_window(*WINDOW))
    numbers = re.findall(r":(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)", response.text)
    assert numbers and not [n for n in numbers if "e" in n.lower()]
    assert all(len(n.partition(".")[2]) <= 6 for n in numbers)
    body = parse_exact(response)
    for row in body["usage"]:
        assert isinstance(row["total_price"], Decimal)
        assert family_totals_match(row)  # exact sums: no float drift anywhere
    assert body["currency"] in ("eur", "usd", "gbp")


def test_partner_paid_clients_show_zero_balance(sim, balance, parse_exact, day_window):
    window = day_window(date(2025, 11, 1), date(2025, 11, 19))
    partner = [c for c in sim.client_ids() if sim.payment_mode(c) == "partner"]
    direct = [c for c in sim.client_ids() if sim.payment_mode(c) == "direct"]
    assert partner and direct
    paid_by_partner = parse_exact(balance(partner[0], **window))
    assert paid_by_partner["balance"] == 0
    assert paid_by_partner["last_renewal"] == {"date": None, "amount": 0}
    direct_bodies = [parse_exact(balance(c, **window)) for c in direct]
    assert any(body["balance"] > 0 for body in direct_bodies)
    renewal = direct_bodies[0]["last_renewal"]
    assert renewal["amount"] > 0 and renewal["date"].endswith("T00:00:00Z")


def test_usage_stops_yesterday(sim, balance, parse_exact, day_window):
    yesterday = sim.today - timedelta(days=1)
    client_id = busy_client(sim, yesterday - timedelta(days=30), yesterday)
    rows = parse_exact(
        balance(
            client_id,
            granularity="day",
            **day_window(yesterday - timedelta(days=30), sim.today + timedelta(days=30)),
        )
    )["usage"]
    assert rows[-1]["period_date"] == f"{yesterday.isoformat()}T00:00:00Z"


def test_real_today_is_the_default(sim_options):
    with run_simulator(sim_options(today=None, history_days=3, clients=2)) as fresh:
        assert fresh.today == datetime.now(UTC).date()
        assert fresh.first_usage_day == fresh.today - timedelta(days=3)


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "yesterday", "end_date": 1700000000},
        {"start_date": 1700000000, "end_date": 1.5},
        {"start_date": 1700000000, "end_date": 1600000000},
        {"start_date": 1600000000, "end_date": 1700000000},  # wider than 366 days of history
        {"start_date": 1700000000, "end_date": 1700086400, "granularity": "week"},
    ],
)
def test_bad_balance_queries_are_400(sim, balance, assert_error, params):
    assert_error(balance(sim.client_ids()[0], **params), 400)


def test_the_fast_path_and_the_fastapi_route_answer_alike(sim, balance, day_window):
    """A repeated date makes the fast path hand the request to FastAPI (which takes the last)."""
    client_id = busy_client(sim, *WINDOW)
    params = {**day_window(*WINDOW), "granularity": "day"}
    fast = balance(client_id, **params)
    routed = balance(client_id, start_date=[0, params.pop("start_date")], **params)
    assert fast.status_code == routed.status_code == 200
    assert fast.content == routed.content
    assert fast.headers["content-type"] == routed.headers["content-type"] == "application/json"
