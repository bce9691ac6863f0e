"""fetch_usage over HTTP: exact values, one request per client per window, per-client failures."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from pipeline.partner_api import NotFoundError, PartnerApiClient

from .conftest import TODAY, balance_requests, config_for, run, simulator


def assert_usage_matches(sim, fetch, client_ids, start, end):
    """Every client's rows over all its windows are exactly the simulator's, Decimals included."""
    for cid in client_ids:
        windows = sorted((w for w in fetch.windows if w.client_id == cid), key=lambda w: w.start)
        rows = [row for w in windows for row in w.body["usage"]]
        assert rows == sim.expected_usage(cid, start, end), cid
    prices = [row["total_price"] for w in fetch.windows for row in w.body["usage"]]
    assert prices and all(isinstance(p, Decimal | int) for p in prices)
    assert any(isinstance(p, Decimal) for p in prices)


def test_a_backfill_returns_exactly_the_served_usage_in_one_request_per_client_per_window():
    start, end = TODAY - timedelta(days=40), TODAY - timedelta(days=1)  # 40 days = 4 windows of 10
    with simulator(balance_rate=None) as sim:
        ids = sim.client_ids()
        done = []

        async def scenario():
            async with PartnerApiClient(config_for(sim, window_days=10)) as api:
                fetch = await api.fetch_usage(
                    ids, start, end, on_window_done=lambda *w: done.append(w)
                )
                return fetch, api.stats

        fetch, stats = run(scenario())
        assert fetch.failures == {}
        assert_usage_matches(sim, fetch, ids, start, end)
        assert len(balance_requests(sim)) == len(ids) * 4
        for cid in ids:
            assert len(balance_requests(sim, cid)) == 4
        assert len(done) == len(fetch.windows) == len(ids) * 4
        assert {(w.start, w.end) for w in fetch.windows} == {
            (start + timedelta(days=10 * i), start + timedelta(days=10 * i + 9)) for i in range(4)
        }
        assert stats.as_dict() == {
            "requests": len(ids) * 4,
            "retries": 0,
            "rate_limited": 0,
            "throttled_seconds": 0.0,
            "bytes_received": sum(len(w.raw_text.encode()) for w in fetch.windows),
            "logins": 0,
            "errors": 0,
            "relistings": 0,
        }


def test_raw_text_is_the_body_exactly_as_sent(sim):
    cid = sim.client_ids()[0]

    async def scenario():
        async with PartnerApiClient(config_for(sim)) as api:
            return await api.fetch_balance_window(cid, date(2024, 2, 1), date(2024, 2, 29))

    window = run(scenario())
    assert window.raw_text.startswith("{") and '"usage":' in window.raw_text
    assert (window.client_id, window.granularity) == (cid, "day")
    assert window.fetched_at.tzinfo is not None
    # Money is written exactly on the wire and parsed exactly: each price's text is in the body.
    for row in window.body["usage"]:
        assert f'"total_price":{row["total_price"]}' in window.raw_text
    assert window.body["usage"] == sim.expected_usage(cid, date(2024, 2, 1), date(2024, 2, 29))


def test_an_unknown_client_fails_alone_and_the_others_are_kept(sim):
    ids = sim.client_ids()[:3]
    start, end = date(2024, 2, 1), date(2024, 2, 10)

    async def scenario():
        async with PartnerApiClient(config_for(sim)) as api:
            return await api.fetch_usage([ids[0], "no-such-client", *ids[1:]], start, end)

    fetch = run(scenario())
    assert set(fetch.failures) == {"no-such-client"}
    error = fetch.failures["no-such-client"]
    assert isinstance(error, NotFoundError)
    assert "client no-such-client" in str(error) and "HTTP 404" in str(error)
    assert_usage_matches(sim, fetch, ids, start, end)


def test_app_ids_and_month_granularity_are_passed_through(sim):
    cid = next(c for c in sim.client_ids() if len(sim.channel_app_ids(c)) > 1)
    app_ids = sim.channel_app_ids(cid)[:1]
    start, end = date(2024, 1, 1), date(2024, 2, 29)

    async def scenario():
        async with PartnerApiClient(config_for(sim, window_days=366)) as api:
            one_app = await api.fetch_balance_window(cid, start, end, app_id=app_ids[0])
            monthly = await api.fetch_balance_window(cid, start, end, granularity="month")
            return one_app, monthly

    one_app, monthly = run(scenario())
    assert one_app.body["usage"] == sim.expected_usage(cid, start, end, app_ids=app_ids)
    assert one_app.body["usage"] != sim.expected_usage(cid, start, end)
    assert monthly.granularity == "month"
    assert monthly.body["usage"] == sim.expected_usage(cid, start, end, granularity="month")
