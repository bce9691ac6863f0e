from __future__ import annotations

import httpx
import pytest

from pipeline.simulator import Simulator, run_simulator


def login(base_url: str, username: str, password: str) -> httpx.Response:
    return httpx.post(f"{base_url}/token", json={"username": username, "password": password})


def test_api_key_header_authenticates(api: httpx.Client, sim: Simulator):
    response = api.get(f"/partners/{sim.partner_id}")
    assert response.status_code == 200
    assert response.json()["id"] == sim.partner_id


def test_token_login_gives_a_bearer_token_that_authenticates(sim: Simulator):
    response = login(sim.base_url, sim.username, sim.password)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"].count(".") == 2  # JWT-shaped
    partner = httpx.get(
        f"{sim.base_url}/partners/{sim.partner_id}",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert partner.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-Key": "wrong"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {},
    ],
)
def test_bad_or_missing_credentials_get_401_with_error_body(sim: Simulator, headers, assert_error):
    assert_error(
        httpx.get(f"{sim.base_url}/partners/{sim.partner_id}/clients", headers=headers), 401
    )


def test_wrong_password_gets_401(sim: Simulator, assert_error):
    assert_error(login(sim.base_url, sim.username, "wrong"), 401)


def test_token_expires_after_its_ttl(sim_options, assert_error):
    with run_simulator(sim_options(clients=2, token_ttl_seconds=60)) as short:
        token = login(short.base_url, short.username, short.password).json()["access_token"]
        url = f"{short.base_url}/partners/{short.partner_id}"
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(url, headers=headers).status_code == 200
        short.advance_clock(59)
        assert httpx.get(url, headers=headers).status_code == 200
        short.advance_clock(1)
        assert_error(httpx.get(url, headers=headers), 401)


def test_expire_tokens_invalidates_issued_tokens(sim: Simulator, assert_error):
    token = login(sim.base_url, sim.username, sim.password).json()["access_token"]
    sim.expire_tokens()
    response = httpx.get(
        f"{sim.base_url}/partners/{sim.partner_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert_error(response, 401)


def test_unknown_partner_or_client_is_404(api: httpx.Client, sim: Simulator, assert_error):
    assert_error(api.get("/partners/otherPA/clients"), 404)
    assert_error(api.get(f"/partners/{sim.partner_id}/clients/nopeCL/info/balance"), 404)
    assert_error(api.get(f"/partners/{sim.partner_id}/clients/nopeCL/shared_client_numbers"), 404)
