"""The proactive per-client limiter keeps a well-configured run free of 429s."""

from __future__ import annotations

from datetime import timedelta

from pipeline.partner_api import PartnerApiClient

from .conftest import TODAY, balance_requests, config_for, run, simulator


def test_twelve_windows_of_one_client_get_no_429():
    with simulator(clients=2, balance_rate=(5, 1.0), latency_seconds=0.01) as sim:
        cid = sim.client_ids()[0]
        start, end = TODAY - timedelta(days=12), TODAY - timedelta(days=1)

        async def scenario():
            config = config_for(sim, balance_rate=(5, 1.0), window_days=1)
            async with PartnerApiClient(config) as api:
                return await api.fetch_usage([cid], start, end), api.stats

        fetch, stats = run(scenario())
        assert fetch.failures == {} and len(fetch.windows) == 12
        statuses = [r.status for r in balance_requests(sim, cid)]
        assert statuses == [200] * 12
        assert stats.rate_limited == 0
        # 12 requests at 5 per second: from the 6th on they waited for the window, whatever the
        # machine's speed (how long depends on when the answers came back).
        assert stats.throttled_seconds > 0


def test_clients_are_fetched_concurrently_within_the_bound():
    with simulator(clients=6, balance_rate=(5, 1.0), latency_seconds=0.2) as sim:
        ids = sim.client_ids()
        start = end = TODAY - timedelta(days=1)

        async def scenario():
            async with PartnerApiClient(config_for(sim, concurrency=3)) as api:
                return await api.fetch_usage(ids, start, end)

        fetch = run(scenario())
        assert fetch.failures == {}
        # 6 requests of 0.2 s each, 3 at a time, as the server saw them: more than one in
        # flight at once, never more than three (however slow the machine).
        assert 2 <= most_at_once(balance_requests(sim)) <= 3


def most_at_once(requests) -> int:
    events = sorted([(r.arrived, 1) for r in requests] + [(r.at, -1) for r in requests])
    in_flight = most = 0
    for _, change in events:  # at equal times an answer (-1) counts before an arrival (+1)
        in_flight += change
        most = max(most, in_flight)
    return most
