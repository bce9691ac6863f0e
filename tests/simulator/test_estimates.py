"""Recent days are estimates the API revises until they are final, as the vendor warns."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
from simulator.conftest import TODAY, _day_window, _options, _parse_exact

from pipeline.simulator import run_simulator

DAYS = [TODAY - timedelta(days=age) for age in range(6, 0, -1)]  # 6 days ago .. yesterday


def served_quantities(base_url: str, api_key: str, client_id: str) -> dict[date, int]:
    with httpx.Client(base_url=base_url, headers={"X-API-Key": api_key}) as api:
        response = api.get(
            f"/partners/simPA/clients/{client_id}/info/balance",
            params={"granularity": "day", **_day_window(DAYS[0], DAYS[-1])},
        )
    return {
        date.fromisoformat(row["period_date"][:10]): row["quantity"]
        for row in _parse_exact(response)["usage"]
    }


def test_estimates_grow_until_final_and_older_days_never_move() -> None:
    with run_simulator(_options(estimate_days=3, clients=8)) as sim:
        client_id = max(sim.client_ids(), key=lambda c: len(sim.expected_usage(c, *DAYS[::5])))
        before = served_quantities(sim.base_url, sim.api_key, client_id)
        sim.set_today(TODAY + timedelta(days=3))
        after = served_quantities(sim.base_url, sim.api_key, client_id)
        final = {
            day: before_q for day, before_q in before.items() if day < TODAY - timedelta(days=3)
        }

    assert len(before) == 6
    for day, quantity in before.items():
        if day in final:
            assert after[day] == quantity  # already final: never revised
        else:
            assert after[day] > quantity  # was an estimate, short of the final figure
