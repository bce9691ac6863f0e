"""Credentials: the API key header, one login shared by concurrent requests, clear refusals."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.partner_api import AuthenticationError, PartnerApiClient, Secret

from .conftest import config_for, run


def test_a_wrong_api_key_fails_fast_with_one_line_naming_the_variable(sim):
    before = len(sim.requests)

    async def scenario():
        async with PartnerApiClient(config_for(sim, api_key=Secret("wrong-key-000"))) as api:
            with pytest.raises(AuthenticationError) as caught:
                await api.list_clients()
            return caught.value, api.stats

    error, stats = run(scenario())
    message = str(error)
    assert "refused the credentials" in message and "D360_API_KEY" in message
    assert "HTTP 401" in message and "GET /partners/{partner_id}/clients" in message
    assert "\n" not in message and "wrong-key-000" not in message
    assert len(sim.requests) - before == 1
    assert (stats.requests, stats.retries, stats.errors) == (1, 0, 1)


def test_a_wrong_api_key_stops_a_whole_usage_fetch(sim):
    async def scenario():
        async with PartnerApiClient(config_for(sim, api_key=Secret("wrong-key-000"))) as api:
            with pytest.raises(AuthenticationError):
                await api.fetch_usage(sim.client_ids(), date(2024, 2, 1), date(2024, 2, 2))

    run(scenario())


def test_a_wrong_password_is_refused_at_login(sim):
    async def scenario():
        config = config_for(sim, login=True, password=Secret("not-the-password"))
        async with PartnerApiClient(config) as api:
            with pytest.raises(AuthenticationError) as caught:
                await api.list_channels()
            return caught.value, api.stats

    error, stats = run(scenario())
    message = str(error)
    assert "refused the login" in message and "POST /token" in message
    assert "D360_USERNAME and D360_PASSWORD" in message and "HTTP 401" in message
    assert "not-the-password" not in message
    assert (stats.logins, stats.requests, stats.retries) == (1, 1, 0)


def test_concurrent_requests_share_one_login(sim):
    async def scenario():
        async with PartnerApiClient(config_for(sim, login=True, concurrency=6)) as api:
            fetch = await api.fetch_usage(sim.client_ids(), date(2024, 2, 1), date(2024, 2, 5))
            return fetch, api.stats

    fetch, stats = run(scenario())
    assert fetch.failures == {} and len(fetch.windows) == len(sim.client_ids())
    assert stats.logins == 1
    assert stats.requests == len(sim.client_ids()) + 1


def test_the_api_key_wins_when_a_login_is_configured_too(sim):
    async def scenario():
        config = config_for(sim, username=sim.username, password=Secret("not-the-password"))
        async with PartnerApiClient(config) as api:
            return await api.list_clients(), api.stats

    clients, stats = run(scenario())
    assert clients and stats.logins == 0
