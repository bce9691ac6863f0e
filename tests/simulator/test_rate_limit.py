from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pipeline.simulator import Simulator, run_simulator


@pytest.fixture(scope="module", params=["always", "never", "sometimes"])
def limited(request, sim_options) -> Iterator[Simulator]:
    with run_simulator(
        sim_options(clients=3, balance_rate=(5, 2.0), retry_after=request.param)
    ) as running:
        yield running


def hit(sim: Simulator, client_id: str) -> httpx.Response:
    return httpx.get(
        f"{sim.base_url}/partners/{sim.partner_id}/clients/{client_id}/info/balance",
        params={"start_date": 1700000000, "end_date": 1700086400},
        headers={"X-API-Key": sim.api_key},
    )


def test_sixth_request_in_the_window_is_429(limited: Simulator, assert_error):
    first, second = limited.client_ids()[:2]
    assert [hit(limited, first).status_code for _ in range(5)] == [200] * 5
    rejected = [hit(limited, first), hit(limited, first)]
    for response in rejected:
        assert_error(response, 429)
    with_header = ["Retry-After" in r.headers for r in rejected]
    assert (
        with_header
        == {"always": [True, True], "never": [False, False], "sometimes": [True, False]}[
            limited.options.retry_after
        ]
    )
    for response in rejected:
        if "Retry-After" in response.headers:
            assert 1 <= int(response.headers["Retry-After"]) <= 2
    assert hit(limited, second).status_code == 200  # per client


def test_window_slides_free_after_retry_after(sim_options):
    # A window far longer than six requests take on a loaded machine, slid by the clock.
    with run_simulator(
        sim_options(clients=1, balance_rate=(5, 600.0), retry_after="always")
    ) as limited:
        client_id = limited.client_ids()[0]
        assert [hit(limited, client_id).status_code for _ in range(6)] == [200] * 5 + [429]
        limited.advance_clock(600.0)  # the window has slid past the first request
        assert hit(limited, client_id).status_code == 200
