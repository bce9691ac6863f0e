"""A listing whose pages repeat or end short of its own `total` is listed again from the start,
and refused in one line when that does not help: a partial directory is never returned."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from scripted_api import Asked, scripted_api

from pipeline.partner_api import ApiConfig, PartnerApiClient, Secret, UntrustedListingError

from .conftest import FAST_RETRY, run

CLIENTS = [{"id": f"cl{i}", "name": f"Client {i}"} for i in range(5)]


class ClientList:
    """The clients list in pages of at most `cap`. During its first `faulty_passes` listings
    (a listing starts at offset 0) it misbehaves: `repeat` serves the previous page again at
    offset `cap`, `short` ends after `cap` + 1 items while `total` still says 5."""

    def __init__(self, fault: str, faulty_passes: int, cap: int = 2) -> None:
        self.fault, self.faulty_passes, self.cap = fault, faulty_passes, cap
        self.passes = 0

    def __call__(self, asked: Asked) -> tuple[int, Any]:
        offset, limit = int(asked.query["offset"]), min(int(asked.query["limit"]), self.cap)
        self.passes += offset == 0
        served = CLIENTS
        if self.passes <= self.faulty_passes:
            if self.fault == "repeat" and offset == self.cap:
                offset -= self.cap
            if self.fault == "short":
                served = CLIENTS[: self.cap + 1]
        page = served[offset : offset + limit]
        envelope = {"count": len(page), "limit": limit, "offset": offset, "total": len(CLIENTS)}
        return 200, {**envelope, "clients": page}


def list_clients(script: ClientList) -> tuple[list[dict] | UntrustedListingError, Any, list]:
    with scripted_api(script) as api:
        config = ApiConfig(
            partner_id="pa", api_key=Secret("key"), base_url=api.base_url, retry=FAST_RETRY
        )

        async def scenario() -> tuple[list[dict] | UntrustedListingError, Any]:
            async with PartnerApiClient(config) as client:
                try:
                    return await client.list_clients(), client.stats
                except UntrustedListingError as error:
                    return error, client.stats

        listed, stats = run(scenario())
        offsets = [int(a.query["offset"]) for a in api.paths("/clients")]
    return listed, stats, offsets


def test_a_repeated_page_is_listed_again_from_the_start_and_then_complete():
    listed, stats, offsets = list_clients(ClientList("repeat", faulty_passes=1))

    assert listed == CLIENTS
    assert offsets == [0, 2, 0, 2, 4]  # the repeat stopped the first listing at once
    assert stats.relistings == 1 and stats.errors == 0


@pytest.mark.parametrize(
    ("fault", "problem", "requests"),
    [
        ("repeat", "the page at offset 2 repeated items already listed", 2 * 3),
        ("short", "it ended with 3 items, short of its own total 5", 3 * 3),
    ],
)
def test_a_listing_that_stays_untrustworthy_is_refused_in_one_line(fault, problem, requests):
    listed, stats, offsets = list_clients(ClientList(fault, faulty_passes=99))

    assert isinstance(listed, UntrustedListingError)
    assert str(listed) == (
        f"the clients listing cannot be trusted after 3 attempts: {problem} "
        "(GET /partners/{partner_id}/clients); nothing was loaded from it; retry later, and "
        "tell 360dialog if it persists"
    )
    assert len(offsets) == requests and offsets.count(0) == 3
    assert stats.relistings == 2 and stats.errors == 1


def test_the_listing_attempts_are_a_setting_of_the_retry_policy():
    with pytest.raises(ValueError, match="listing_attempts"):
        replace(FAST_RETRY, listing_attempts=0)
    assert [FAST_RETRY.relist_delay(n) for n in (1, 2, 3, 10)] == [0.01, 0.02, 0.04, 0.05]
