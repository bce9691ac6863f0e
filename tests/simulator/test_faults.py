from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from pipeline.simulator import Faults, Simulator, run_simulator

JULY = (date(2025, 7, 1), date(2025, 7, 31))


@pytest.fixture(scope="module")
def faulty(sim_options) -> Iterator[Simulator]:
    with run_simulator(sim_options(clients=8)) as running:
        yield running


def busiest(sim: Simulator) -> str:
    return max(sim.client_ids(), key=lambda cid: len(sim.expected_usage(cid, *JULY)))


@pytest.fixture
def call(faulty: Simulator, day_window):
    faulty.clear_requests()
    client_id = busiest(faulty)

    def balance(timeout: float = 5.0, **headers: str) -> httpx.Response:
        return httpx.get(
            f"{faulty.base_url}/partners/{faulty.partner_id}/clients/{client_id}/info/balance",
            params={**day_window(*JULY), "granularity": "day"},
            headers=headers or {"X-API-Key": faulty.api_key},
            timeout=timeout,
        )

    yield balance
    faulty.set_faults(Faults())


def test_5xx_bursts_follow_the_schedule(faulty: Simulator, call):
    faulty.set_faults(Faults(error_burst_every=4, error_burst_length=2))
    statuses = [call().status_code for _ in range(8)]
    assert [status >= 500 for status in statuses] == [False, False, True, True] * 2
    assert set(statuses) <= {200, 500, 502, 503}
    log = faulty.requests
    assert [r.faulted for r in log] == [s >= 500 for s in statuses]
    assert {r.client_id for r in log} == {busiest(faulty)}


def test_list_endpoints_get_faults_too(faulty: Simulator):
    faulty.set_faults(Faults(error_burst_every=2))
    url = f"{faulty.base_url}/partners/{faulty.partner_id}/clients"
    statuses = [httpx.get(url, headers={"X-API-Key": faulty.api_key}).status_code for _ in range(4)]
    faulty.set_faults(Faults())
    assert [status >= 500 for status in statuses] == [False, True, False, True]


def test_dropped_connection_is_a_transport_error(faulty: Simulator, call):
    faulty.set_faults(Faults(drop_every=2))
    assert call().status_code == 200
    with pytest.raises(httpx.RemoteProtocolError):
        call()
    assert call().status_code == 200
    assert [r.fault for r in faulty.requests] == [None, "drop", None]


def test_slow_response_outlasts_a_client_timeout(faulty: Simulator, call):
    faulty.set_faults(Faults(slow_every=1, slow_seconds=0.6))
    with pytest.raises(httpx.ReadTimeout):
        call(timeout=0.2)


def test_forced_429_without_a_rate_limit(faulty: Simulator, call, assert_error):
    assert faulty.options.balance_rate is None
    faulty.set_faults(Faults(rate_limit_every=1))
    assert_error(call(), 429)


def test_token_expiry_fault_revokes_bearer_tokens(faulty: Simulator, call, assert_error):
    def login() -> str:
        return httpx.post(
            f"{faulty.base_url}/token",
            json={"username": faulty.username, "password": faulty.password},
        ).json()["access_token"]

    faulty.set_faults(Faults(token_expiry_every=2))
    token = login()
    assert call(Authorization=f"Bearer {token}").status_code == 200
    assert_error(call(Authorization=f"Bearer {token}"), 401)
    assert call(Authorization=f"Bearer {login()}").status_code == 200


def test_schema_drift_adds_a_category_and_drops_optional_fields(
    faulty: Simulator, call, parse_exact, family_totals_match
):
    clean = parse_exact(call())
    faulty.set_faults(Faults(schema_drift=True))
    drifted = parse_exact(call())
    assert "estimated_template_cost" in clean and "estimated_template_cost" not in drifted
    client_id = busiest(faulty)
    assert ("last_renewal" in drifted) == (faulty.payment_mode(client_id) == "direct")
    new_rows = [row for row in drifted["usage"] if "marketing_lite_v2_quantity" in row]
    assert new_rows and len(new_rows) < len(drifted["usage"])
    assert all(family_totals_match(row) for row in drifted["usage"])
    assert [r["total_price"] for r in drifted["usage"]] == [
        r["total_price"] for r in clean["usage"]
    ]
    assert drifted["usage"] == faulty.expected_usage(client_id, *JULY)
