"""Runs meeting 429s, 5xx bursts, dropped connections and expiring tokens still get every value."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pipeline.partner_api import PartnerApiClient, RateLimitedError, RetryPolicy, ServerError
from pipeline.simulator import Faults

from .conftest import TODAY, balance_requests, config_for, run, simulator
from .test_usage import assert_usage_matches

START, END = TODAY - timedelta(days=30), TODAY - timedelta(days=1)  # 3 windows of 10 days


def backfill(sim, window_days=10, **config):
    ids = sim.client_ids()

    async def scenario():
        async with PartnerApiClient(config_for(sim, window_days=window_days, **config)) as api:
            return await api.fetch_usage(ids, START, END), api.stats

    fetch, stats = run(scenario())
    assert fetch.failures == {}
    assert_usage_matches(sim, fetch, ids, START, END)
    return stats


@pytest.mark.parametrize("retry_after", ["always", "never"])
def test_429s_from_the_server_window_are_waited_out(retry_after):
    # The client's own limiter is set far above the server's, so the server refuses requests.
    with simulator(clients=3, balance_rate=(2, 1.0), retry_after=retry_after) as sim:
        stats = backfill(sim, balance_rate=(100, 1.0))
        refused = [r for r in balance_requests(sim) if r.status == 429]
        assert refused and stats.rate_limited == len(refused)
        assert stats.retries == len(refused)
        assert stats.errors == 0


def test_forced_429s_with_and_without_retry_after_are_retried():
    with simulator(clients=3, retry_after="sometimes", faults=Faults(rate_limit_every=4)) as sim:
        stats = backfill(sim)
        assert stats.rate_limited == len([r for r in sim.requests if r.status == 429]) > 0
        assert stats.retries == stats.rate_limited


def test_5xx_bursts_and_dropped_connections_are_retried():
    faults = Faults(error_burst_every=5, error_burst_length=2, drop_every=7)
    with simulator(clients=4, faults=faults) as sim:
        stats = backfill(sim)
        failed = [r for r in sim.requests if r.fault in ("error", "drop")]
        assert {r.fault for r in failed} == {"error", "drop"}
        assert stats.retries == len(failed)
        assert stats.errors == 0


def test_a_token_revoked_mid_run_means_one_new_login_and_a_retried_request():
    # One request at a time, so the revocation (every 5th request) never hits the retried one;
    # a token revoked between a login and its first use is reported, not retried forever.
    with simulator(clients=3, faults=Faults(token_expiry_every=5)) as sim:
        stats = backfill(sim, login=True, concurrency=1)
        revocations = len([r for r in sim.requests if r.fault == "token_expiry"])
        assert revocations > 0
        assert stats.logins >= 2
        assert stats.retries == 0  # a 401 is handled by the auth flow, not by the retry loop


def test_a_short_lived_token_is_renewed_before_it_expires():
    # 20 requests of >= 0.06 s one after the other outlive a 1 s token (expires_in is whole
    # seconds); renewal is due 0.25 s before expiry, more than one request takes.
    with simulator(clients=2, token_ttl_seconds=1, latency_seconds=0.06, balance_rate=None) as sim:
        stats = backfill(sim, window_days=3, login=True, concurrency=1, balance_rate=(100, 1.0))
        assert stats.logins >= 2
        assert not [r for r in sim.requests if r.status == 401]


def test_a_server_that_keeps_failing_gives_up_after_max_attempts():
    # The simulator answers request 1 and fails requests 2..100.
    with simulator(clients=1, faults=Faults(error_burst_every=100, error_burst_length=99)) as sim:
        cid = sim.client_ids()[0]
        policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02, give_up_after=5)

        async def scenario():
            async with PartnerApiClient(config_for(sim, retry=policy, window_days=10)) as api:
                fetch = await api.fetch_usage([cid], START, END)
                return fetch, api.stats

        fetch, stats = run(scenario())
        error = fetch.failures[cid]
        assert isinstance(error, ServerError)
        assert f"client {cid}" in str(error) and "Upstream error" in str(error)
        assert "/info/balance" in str(error) and "\n" not in str(error)
        # The first window is kept, the second failed, the third was not asked for.
        assert [(w.start, w.end) for w in fetch.windows] == [(START, START + timedelta(days=9))]
        assert len(balance_requests(sim, cid)) == 1 + 3
        assert (stats.requests, stats.retries, stats.errors) == (4, 2, 1)


def test_429s_do_not_use_up_the_attempts_meant_for_failures():
    # Every other request is refused; one attempt per 5xx would be enough, yet all windows come.
    with simulator(clients=2, retry_after="never", faults=Faults(rate_limit_every=2)) as sim:
        impatient = RetryPolicy(max_attempts=1, base_delay=0.01, max_delay=0.02, give_up_after=10)
        stats = backfill(sim, retry=impatient)
        assert stats.rate_limited > 0 and stats.errors == 0


def test_rate_limiting_that_outlasts_the_time_budget_gives_up_clearly():
    with simulator(clients=1, retry_after="always", faults=Faults(rate_limit_every=1)) as sim:
        cid = sim.client_ids()[0]
        policy = RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.02, give_up_after=0.5)

        async def scenario():
            async with PartnerApiClient(config_for(sim, retry=policy)) as api:
                return await api.fetch_usage([cid], START, END), api.stats

        fetch, stats = run(scenario())
        error = fetch.failures[cid]
        assert isinstance(error, RateLimitedError) and error.retry_after == 1.0
        assert "HTTP 429" in str(error) and "D360_BALANCE_RATE" in str(error)
        # Retry-After (1 s) is beyond the 0.5 s budget: no point waiting for it.
        assert (stats.requests, stats.rate_limited, stats.retries) == (1, 1, 0)


def test_a_request_that_times_out_is_retried():
    with simulator(clients=2, faults=Faults(slow_every=3, slow_seconds=1.0)) as sim:
        stats = backfill(sim, timeout_seconds=0.3)
        # (The slow requests are still being answered: the request log does not show them yet.)
        assert stats.retries >= 1 and stats.errors == 0
