"""list_clients / list_channels over HTTP: complete, once each, filters and sort passed through."""

from __future__ import annotations

import pytest

from pipeline.partner_api import BadRequestError, PartnerApiClient

from .conftest import config_for, run, simulator


def list_paths(sim, resource):
    return [r for r in sim.requests if r.path.endswith(f"/{resource}")]


def test_a_capped_page_size_still_yields_every_client_and_channel_exactly_once():
    with simulator(clients=30, max_page_size=7) as sim:

        async def scenario():
            async with PartnerApiClient(config_for(sim, page_size=100)) as api:
                return await api.list_clients(), await api.list_channels()

        clients, channels = run(scenario())
        client_ids = [c["id"] for c in clients]
        assert sorted(client_ids) == sorted(sim.client_ids())
        assert len(set(client_ids)) == len(client_ids) == 30
        channel_ids = [c["id"] for c in channels]
        assert len(set(channel_ids)) == len(channel_ids)
        assert {c["client_id"] for c in channels} <= set(client_ids)
        # 30 clients in pages of 7: 5 pages (the last one short), no more requests than that.
        assert len(list_paths(sim, "clients")) == 5


def test_sort_and_filters_are_passed_through(sim):
    async def scenario():
        async with PartnerApiClient(config_for(sim)) as api:
            everyone = await api.list_clients(sort="-name")
            wanted = everyone[0]
            only = await api.list_clients(filters={"id": wanted["id"]})
            channels = await api.list_channels(filters={"client_id": wanted["id"]}, sort="id")
            return everyone, only, channels

    everyone, only, channels = run(scenario())
    names = [c["name"] for c in everyone]
    assert names == sorted(names, reverse=True)
    assert [c["id"] for c in only] == [everyone[0]["id"]]
    assert channels and all(ch["client_id"] == everyone[0]["id"] for ch in channels)
    assert [ch["id"] for ch in channels] == sorted(ch["id"] for ch in channels)


def test_an_unknown_filter_is_a_bad_request_without_retries(sim):
    async def scenario():
        async with PartnerApiClient(config_for(sim)) as api:
            with pytest.raises(BadRequestError) as caught:
                await api.list_clients(filters={"no_such_field": 1})
            return caught.value, api.stats

    error, stats = run(scenario())
    message = str(error)
    assert "GET /partners/{partner_id}/clients" in message
    assert "HTTP 400" in message and "Unknown filter field" in message
    assert "\n" not in message
    assert (stats.requests, stats.retries, stats.errors) == (1, 0, 1)
