"""Per-channel usage (the balance endpoint's app_id filter) adds up to the client's usage."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest

from pipeline.simulator import Faults, Simulator, run_simulator

RECENT = (date(2025, 10, 1), date(2025, 11, 19))  # up to yesterday: the last days are estimates
WINDOWS = [RECENT, (date(2023, 4, 1), date(2023, 7, 31)), (date(2025, 6, 1), date(2025, 7, 31))]


def column_sums(rows: list[dict]) -> dict[str, dict[str, int | Decimal]]:
    """period_date -> every numeric column summed over the rows (a missing column is 0)."""
    sums: dict[str, dict[str, int | Decimal]] = {}
    for row in rows:
        period = sums.setdefault(row["period_date"], {})
        for key, value in row.items():
            if key != "period_date":
                period[key] = period.get(key, 0) + value
    return sums


def same_columns(left: dict, right: dict) -> bool:
    """Equal in every column either side has, a missing column counting as 0."""
    return all(left.get(key, 0) == right.get(key, 0) for key in left.keys() | right.keys())


def served(balance, parse_exact, day_window, client_id: str, window, **params) -> list[dict]:
    response = balance(client_id, **day_window(*window), **params)
    assert response.status_code == 200
    return parse_exact(response)["usage"]


def multi_channel_clients(sim: Simulator) -> list[str]:
    return [cid for cid in sim.client_ids() if len(sim.channel_app_ids(cid)) >= 2]


def test_channel_rows_are_the_per_channel_truth(sim, balance, parse_exact, day_window):
    clients = multi_channel_clients(sim)
    assert len(clients) >= 5
    for client_id in clients[:5]:
        truth = sim.expected_channel_usage(client_id, *RECENT)
        assert sorted(truth) == sim.channel_app_ids(client_id)
        for app_id, rows in truth.items():
            got = served(
                balance,
                parse_exact,
                day_window,
                client_id,
                RECENT,
                granularity="day",
                app_id=app_id,
            )
            assert got == rows


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("granularity", ["day", "month"])
def test_channels_add_up_to_the_client_in_every_column(
    sim, balance, parse_exact, day_window, family_totals_match, window, granularity
):
    checked = 0
    for client_id in multi_channel_clients(sim):
        client_rows = served(
            balance, parse_exact, day_window, client_id, window, granularity=granularity
        )
        channel_rows = [
            row
            for app_id in sim.channel_app_ids(client_id)
            for row in served(
                balance,
                parse_exact,
                day_window,
                client_id,
                window,
                granularity=granularity,
                app_id=app_id,
            )
        ]
        sums = column_sums(channel_rows)
        assert [row["period_date"] for row in client_rows] == sorted(sums)
        for row in client_rows:
            assert same_columns(
                {k: v for k, v in row.items() if k != "period_date"}, sums[row["period_date"]]
            )
            assert family_totals_match(row)
        checked += len(client_rows)
    assert checked >= 20


def test_estimated_days_add_up_per_channel(sim, balance, parse_exact, day_window):
    """The last estimate_days days are estimates, revised per channel: still exact sums."""
    estimated = (
        sim.today - timedelta(days=sim.options.estimate_days),
        sim.today - timedelta(days=1),
    )
    assert sim.options.estimate_days == 3
    seen = 0
    for client_id in multi_channel_clients(sim):
        client_rows = served(
            balance, parse_exact, day_window, client_id, estimated, granularity="day"
        )
        sums = column_sums(
            [
                row
                for app_id in sim.channel_app_ids(client_id)
                for row in sim.expected_channel_usage(client_id, *estimated)[app_id]
            ]
        )
        for row in client_rows:
            assert same_columns(
                {k: v for k, v in row.items() if k != "period_date"}, sums[row["period_date"]]
            )
            seen += 1
    assert seen >= 6


def test_months_are_the_sum_of_their_days_per_client_and_per_channel(sim):
    first, last = date(2024, 10, 1), date(2025, 11, 19)
    for client_id in multi_channel_clients(sim)[:6]:
        per_channel_days = sim.expected_channel_usage(client_id, first, last)
        per_channel_months = sim.expected_channel_usage(client_id, first, last, granularity="month")
        pairs = [
            (
                sim.expected_usage(client_id, first, last),
                sim.expected_usage(client_id, first, last, "month"),
            )
        ]
        pairs += [(per_channel_days[app], per_channel_months[app]) for app in per_channel_days]
        for days, months in pairs:
            by_month: dict[str, list[dict]] = {}
            for row in days:
                by_month.setdefault(row["period_date"][:8] + "01T00:00:00Z", []).append(row)
            assert [m["period_date"] for m in months] == list(by_month)
            for month in months:
                summed = column_sums(
                    [{**d, "period_date": "m"} for d in by_month[month["period_date"]]]
                )["m"]
                assert same_columns({k: v for k, v in month.items() if k != "period_date"}, summed)


def test_a_client_with_one_channel_is_that_channel(sim, balance, parse_exact, day_window):
    single = [
        cid
        for cid in sim.client_ids()
        if len(sim.channel_app_ids(cid)) == 1 and sim.expected_usage(cid, *RECENT)
    ]
    assert single
    client_id = single[0]
    (app_id,) = sim.channel_app_ids(client_id)
    whole = served(balance, parse_exact, day_window, client_id, RECENT, granularity="day")
    assert whole
    assert (
        served(
            balance, parse_exact, day_window, client_id, RECENT, granularity="day", app_id=app_id
        )
        == whole
    )


def test_a_cancelled_channel_keeps_its_usage_up_to_its_cancellation_only(
    sim, balance, parse_exact, day_window
):
    cancelled = [
        channel
        for cid in sim.client_ids()
        for channel in sim.channels(cid)
        if channel.cancelled_at is not None
        and sim.first_usage_day + timedelta(days=40)
        < channel.cancelled_at.date()
        < sim.today - timedelta(days=40)
        and sim.expected_channel_usage(
            cid, channel.cancelled_at.date() - timedelta(days=30), channel.cancelled_at.date()
        )[channel.app_id]
    ]
    assert cancelled, "the seed should give a cancelled channel with usage"
    channel = cancelled[0]
    day = channel.cancelled_at.date()
    window = (day - timedelta(days=30), day + timedelta(days=30))
    rows = served(
        balance,
        parse_exact,
        day_window,
        channel.client_id,
        window,
        granularity="day",
        app_id=channel.app_id,
    )
    days = [date.fromisoformat(row["period_date"][:10]) for row in rows]
    assert len(days) >= 10
    assert max(days) <= day
    # The client's own rows after the cancellation hold only its other channels.
    others = [app for app in sim.channel_app_ids(channel.client_id) if app != channel.app_id]
    after = (day + timedelta(days=1), day + timedelta(days=30))
    client_after = served(
        balance, parse_exact, day_window, channel.client_id, after, granularity="day"
    )
    assert client_after == sim.expected_usage(channel.client_id, *after, app_ids=others)


@pytest.fixture(scope="module")
def hiding(sim_options) -> Iterator[tuple[Simulator, str, str]]:
    """A simulator whose listings leave out one channel of a busy multi-channel client."""
    with run_simulator(sim_options(clients=12)) as running:
        client_id = max(
            (cid for cid in running.client_ids() if len(running.channel_app_ids(cid)) >= 2),
            key=lambda cid: len(running.expected_usage(cid, *RECENT)),
        )
        hidden = max(
            running.channel_app_ids(client_id),
            key=lambda app: len(running.expected_usage(client_id, *RECENT, app_ids=[app])),
        )
        running.set_faults(Faults(hidden_channels=frozenset({hidden})))
        yield running, client_id, hidden


def all_channels(running: Simulator) -> list[dict]:
    items, offset = [], 0
    with httpx.Client(base_url=running.base_url, headers={"X-API-Key": running.api_key}) as api:
        while True:
            body = api.get(
                f"/partners/{running.partner_id}/channels", params={"offset": offset}
            ).json()
            items += body["partner_channels"]
            if body["count"] < body["limit"]:
                return items
            offset += body["count"]


def test_a_hidden_channel_is_not_listed_but_its_usage_still_counts(hiding, parse_exact, day_window):
    running, client_id, hidden = hiding
    listed = [
        ch["integration"]["app_id"] for ch in all_channels(running) if ch["client_id"] == client_id
    ]
    assert hidden not in listed and listed
    assert sorted([*listed, hidden]) == running.channel_app_ids(client_id)
    assert [ch.app_id for ch in running.channels(client_id) if not ch.listed] == [hidden]
    with httpx.Client(base_url=running.base_url, headers={"X-API-Key": running.api_key}) as api:
        base = f"/partners/{running.partner_id}/clients/{client_id}"
        shared = api.get(f"{base}/shared_client_numbers").json()
        (hidden_channel,) = [ch for ch in running.channels(client_id) if ch.app_id == hidden]
        assert hidden_channel.channel_id not in {ch["id"] for ch in shared}
        assert len(shared) == len(listed)
        params = {**day_window(*RECENT), "granularity": "day"}
        whole = parse_exact(api.get(f"{base}/info/balance", params=params))["usage"]
        listed_rows = parse_exact(
            api.get(f"{base}/info/balance", params={**params, "app_id": listed})
        )["usage"]
        hidden_rows = parse_exact(
            api.get(f"{base}/info/balance", params={**params, "app_id": hidden})
        )["usage"]
    assert whole == running.expected_usage(client_id, *RECENT)
    assert hidden_rows == running.expected_channel_usage(client_id, *RECENT)[hidden]
    # What the listed channels explain falls short of the client's total by the hidden channel.
    remainder = sum(r["total_price"] for r in whole) - sum(r["total_price"] for r in listed_rows)
    assert remainder == sum(r["total_price"] for r in hidden_rows) > 0
    sums = column_sums(listed_rows + hidden_rows)
    for row in whole:
        assert same_columns(
            {k: v for k, v in row.items() if k != "period_date"}, sums[row["period_date"]]
        )
