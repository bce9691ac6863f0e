from __future__ import annotations

import httpx

from pipeline.simulator import run_simulator


def test_openapi_is_served_under_the_base_with_both_security_schemes(sim):
    spec = httpx.get(f"{sim.base_url}/openapi.json").json()
    assert spec["components"]["securitySchemes"]["PartnerApiKeyV2"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "Partner API key (preferred)",
    }
    assert spec["components"]["securitySchemes"]["Bearer"]["scheme"] == "bearer"
    balance = spec["paths"]["/api/v2/partners/{partner_id}/clients/{client_id}/info/balance"]
    assert balance["get"]["security"] == [{"PartnerApiKeyV2": []}, {"Bearer": []}]
    assert all(path.startswith("/api/v2/") for path in spec["paths"])


def snapshot(options) -> list[bytes]:
    with run_simulator(options) as running:
        headers = {"X-API-Key": running.api_key}
        base = f"{running.base_url}/partners/{running.partner_id}"
        client_id = running.client_ids()[3]
        return [
            httpx.get(url, headers=headers).content
            for url in (
                f"{base}/clients?limit=100",
                f"{base}/channels?limit=100",
                f"{base}/clients/{client_id}/info/balance?start_date=1719792000"
                "&end_date=1722470399&granularity=day",
            )
        ]


def test_same_seed_gives_the_same_bytes(sim_options):
    first = snapshot(sim_options(clients=10))
    assert first == snapshot(sim_options(clients=10))
    assert first != snapshot(sim_options(clients=10, seed=12))
