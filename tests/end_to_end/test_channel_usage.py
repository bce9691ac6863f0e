"""Cost per phone number: PIPELINE_CHANNEL_USAGE=on over real HTTP, checked against the
simulator's own per-channel rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from dates import month_ends_within
from end_to_end.stack import YESTERDAY, Stack, small_options, stack_env

from pipeline.simulator import Faults, run_simulator
from pipeline.warehouse import Warehouse

START = YESTERDAY - timedelta(days=45)
END = YESTERDAY - timedelta(days=5)  # final figures only, no estimates


def _day(row: dict) -> object:
    return datetime.fromisoformat(row["period_date"].replace("Z", "+00:00")).date()


def truth(sim: object) -> dict:
    """(client, app_id, day) -> (quantity, paid_quantity, free_quantity, total_price)."""
    expected = {}
    for client_id in sim.client_ids():
        for app_id, rows in sim.expected_channel_usage(client_id, START, END).items():
            for row in rows:
                expected[client_id, app_id, _day(row)] = (
                    int(row["quantity"]),
                    int(row["paid_quantity"]),
                    int(row.get("free_quantity", 0)),
                    Decimal(row["total_price"]),
                )
    return expected


def channel_rows(stack: Stack, where: str = "true") -> dict:
    with Warehouse(stack.warehouse).read() as con:
        rows = con.execute(
            "select client_id, app_id, usage_date, quantity, paid_quantity, free_quantity, "
            f"total_price from usage_daily_by_channel where {where}"
        ).fetchall()
    return {(c, a, d): values for c, a, d, *values in [(r[0], r[1], r[2], *r[3:]) for r in rows]}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Iterator[Stack]:
    """One channel-usage run shared by the tests that only read its result."""
    tmp = tmp_path_factory.mktemp("channels")
    with run_simulator(small_options(balance_rate=None)) as sim:
        env = stack_env(sim, tmp, PIPELINE_CHANNEL_USAGE="on", PIPELINE_WINDOW_DAYS="31")
        stack = Stack(sim, env, tmp)
        outcome = stack.refresh(START, END)
        assert outcome.success, outcome.problems
        yield stack


def test_channel_rows_equal_the_simulators_per_channel_truth(loaded: Stack) -> None:
    expected = truth(loaded.sim)
    assert len(expected) > 100
    assert {k: tuple(v) for k, v in channel_rows(loaded, "app_id <> 'unattributed'").items()} == {
        k: v for k, v in expected.items()
    }
    assert channel_rows(loaded, "app_id = 'unattributed'") == {}


def test_channels_sum_to_the_clients_days(loaded: Stack) -> None:
    with Warehouse(loaded.warehouse).read() as con:
        unequal = con.execute(
            """
            select d.client_id, d.usage_date from usage_daily d
            left join (select client_id, usage_date, sum(quantity) q, sum(total_price) p
                       from usage_daily_by_channel group by all) c using (client_id, usage_date)
            where c.q is distinct from d.quantity or c.p is distinct from d.total_price
            """
        ).fetchall()
        channel_ids = con.execute(
            "select count(*) from usage_daily_by_channel b join channels c "
            "on b.app_id = c.app_id and b.channel_id = c.channel_id"
        ).fetchone()
        total = con.execute("select count(*) from usage_daily_by_channel").fetchone()
    assert unequal == []
    assert channel_ids == total  # every row names its channel from the listing


def test_a_client_with_one_channel_has_its_whole_usage_on_that_channel(loaded: Stack) -> None:
    sim = loaded.sim
    single = next(c for c in sim.client_ids() if len(sim.channel_app_ids(c)) == 1)
    (app_id,) = sim.channel_app_ids(single)
    client_days = {
        (_day(r), Decimal(r["total_price"])) for r in sim.expected_usage(single, START, END)
    }
    rows = channel_rows(loaded, f"client_id = '{single}'")
    assert {(d, v[3]) for (_, a, d), v in rows.items() if a == app_id} == client_days
    assert {a for _, a, _ in rows} <= {app_id}


def test_a_cancelled_channel_keeps_its_usage_before_cancellation(loaded: Stack) -> None:
    sim = loaded.sim
    channel = next(
        ch for c in sim.client_ids() for ch in sim.channels(c) if ch.cancelled_at is not None
    )
    cancelled = channel.cancelled_at.date()
    first, last = cancelled - timedelta(days=15), cancelled + timedelta(days=10)
    assert loaded.refresh(first, last).success

    served = sim.expected_channel_usage(channel.client_id, first, last)[channel.app_id]
    want = {_day(r): Decimal(r["total_price"]) for r in served}
    with Warehouse(loaded.warehouse).read() as con:
        got = dict(
            con.execute(
                "select usage_date, total_price from usage_daily_by_channel "
                "where app_id = ? and usage_date between ? and ?",
                [channel.app_id, first, last],
            ).fetchall()
        )
    assert got == want and len(got) >= 5
    assert max(got) <= cancelled  # used until its cancellation, nothing after


def test_a_channel_missing_from_the_listing_is_kept_as_unattributed(tmp_path: Path) -> None:
    with run_simulator(small_options(balance_rate=None)) as sim:
        client = next(c for c in sim.client_ids() if len(sim.channel_app_ids(c)) > 1)
        hidden = sim.channel_app_ids(client)[0]
        sim.set_faults(Faults(hidden_channels=frozenset({hidden})))
        env = stack_env(sim, tmp_path, PIPELINE_CHANNEL_USAGE="on", PIPELINE_WINDOW_DAYS="31")
        stack = Stack(sim, env, tmp_path)
        outcome = stack.refresh(START, END)

        hidden_rows = {(c, d): v for (c, a, d), v in truth(sim).items() if a == hidden}
    unattributed = {
        (c, d): tuple(v) for (c, a, d), v in channel_rows(stack, "app_id = 'unattributed'").items()
    }
    assert unattributed == {k: v for k, v in hidden_rows.items() if any(v)}
    assert len(unattributed) > 5
    assert outcome.success  # the remainder is a warning, not a failure...
    assert any("channel_usage_is_attributed" in w for w in outcome.warnings)  # ...shown


def test_channel_requests_share_the_clients_limit_without_a_429(tmp_path: Path, today) -> None:
    # the documented 5 per 30 s, made 5 per 2 s to stay quick: same proportions
    with run_simulator(small_options(clients=4, balance_rate=(5, 2.0))) as sim:
        stack = Stack(sim, stack_env(sim, tmp_path, PIPELINE_CHANNEL_USAGE="on"), tmp_path)
        start, yesterday = today - timedelta(days=10), today - timedelta(days=1)
        assert stack.refresh(start, yesterday).success
        balance = [r for r in sim.requests if r.path.endswith("/info/balance")]
    channels = sum(len(sim.channel_app_ids(c)) for c in sim.client_ids())
    assert [r.status for r in balance if r.status != 200] == []
    by_granularity = Counter(r.query["granularity"] for r in balance)
    # one request per client (10 days, 10-day windows) and one per channel per window...
    assert by_granularity["day"] == len(sim.client_ids()) + channels
    # ...and, in the first days of a month, the month just ended's figure once per client
    assert by_granularity["month"] == len(sim.client_ids()) * month_ends_within(start, yesterday)
    assert set(by_granularity) <= {"day", "month"}
