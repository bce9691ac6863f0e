"""Shared simulators for the simulator's tests: started once, talked to over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from pipeline.simulator import Simulator, SimulatorOptions, run_simulator

TODAY = date(2025, 11, 20)  # pinned so every era (2022..2025) is inside the history
DIRECTION = ("business_initiated", "user_initiated")


def _options(**overrides: Any) -> SimulatorOptions:
    base: dict[str, Any] = dict(
        seed=11,
        clients=30,
        max_channels_per_client=3,
        history_days=1300,
        today=TODAY,
        balance_rate=None,
        max_page_size=7,
        cancellation_delay_seconds=0.3,
    )
    return SimulatorOptions(**{**base, **overrides})


@pytest.fixture(scope="session")
def sim() -> Iterator[Simulator]:
    """Read-mostly simulator: no rate limit, small page size; tests must not change faults."""
    with run_simulator(_options()) as running:
        yield running


@pytest.fixture
def api(sim: Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, headers={"X-API-Key": sim.api_key}) as client:
        yield client


def _parse_exact(response: httpx.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def _day_window(first: date, last: date) -> dict[str, int]:
    start = datetime.combine(first, time(), tzinfo=UTC)
    end = datetime.combine(last, time(23, 59, 59), tzinfo=UTC)
    return {"start_date": int(start.timestamp()), "end_date": int(end.timestamp())}


def _assert_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status
    meta = response.json()["meta"]
    assert meta["success"] is False
    assert meta["http_code"] == status
    assert meta["developer_message"]
    assert isinstance(meta["details"], list)


def _family_totals_match(row: dict[str, Any]) -> bool:
    """Each filled category family adds up to the row's quantity, paid_quantity, total_price."""
    categories = {
        key.removesuffix("_paid_quantity")
        for key in row
        if key.endswith("_paid_quantity") and key != "paid_quantity"
    }
    families = [set(DIRECTION), categories - set(DIRECTION)]
    filled = [
        family for family in families if any(row[f"{category}_quantity"] for category in family)
    ]
    return bool(filled) and all(
        sum(row[f"{c}_quantity"] for c in family) == row["quantity"]
        and sum(row[f"{c}_paid_quantity"] for c in family) == row["paid_quantity"]
        and sum(row[f"{c}_price"] for c in family) == row["total_price"]
        for family in filled
    )


@pytest.fixture
def balance(api: httpx.Client, sim: Simulator) -> Callable[..., httpx.Response]:
    def get(client_id: str, **params: Any) -> httpx.Response:
        return api.get(
            f"/partners/{sim.partner_id}/clients/{client_id}/info/balance", params=params
        )

    return get


@pytest.fixture(scope="session")
def sim_options() -> Callable[..., SimulatorOptions]:
    """The shared simulator's options with some changed, for tests that need their own run."""
    return _options


@pytest.fixture(scope="session")
def parse_exact() -> Callable[[httpx.Response], Any]:
    """JSON with every non-integer number as an exact Decimal."""
    return _parse_exact


@pytest.fixture(scope="session")
def day_window() -> Callable[[date, date], dict[str, int]]:
    """Query params for first..last the way the pipeline asks: 00:00:00Z to 23:59:59Z."""
    return _day_window


@pytest.fixture(scope="session")
def assert_error() -> Callable[[httpx.Response, int], None]:
    """Checks status and the documented error body."""
    return _assert_error


@pytest.fixture(scope="session")
def family_totals_match() -> Callable[[dict[str, Any]], bool]:
    """Each filled category family adds up to the row's quantity, paid_quantity, total_price."""
    return _family_totals_match
