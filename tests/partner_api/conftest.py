"""Simulators and configs for the client tests: small worlds, short windows, fast retries."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from typing import Any, TypeVar

import pytest

from pipeline.partner_api import ApiConfig, RetryPolicy, Secret
from pipeline.simulator import SimulatorOptions, run_simulator

T = TypeVar("T")

TODAY = date(2024, 3, 1)  # pinned so expected usage is the same on every run
FAST_RETRY = RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.05, give_up_after=20.0)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def sim_options(**overrides: Any) -> SimulatorOptions:
    base = SimulatorOptions(
        seed=11,
        clients=6,
        max_channels_per_client=2,
        history_days=90,
        today=TODAY,
        balance_rate=(5, 1.5),
    )
    return replace(base, **overrides)


@contextmanager
def simulator(**overrides: Any) -> Iterator[Any]:
    with run_simulator(sim_options(**overrides)) as sim:
        yield sim


def config_for(sim: Any, *, login: bool = False, **overrides: Any) -> ApiConfig:
    """A config matching `sim`: its API key, or its username/password when `login`."""
    credentials: dict[str, Any] = (
        {"username": sim.username, "password": Secret(sim.password)}
        if login
        else {"api_key": Secret(sim.api_key)}
    )
    settings: dict[str, Any] = {
        "base_url": sim.base_url,
        "partner_id": sim.partner_id,
        "balance_rate": (5, 1.5),
        "window_days": 31,
        "retry": FAST_RETRY,
        **credentials,
        **overrides,
    }
    return ApiConfig(**settings)


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    """A shared, fault-free simulator for tests that do not change it."""
    with simulator() as running:
        yield running


def balance_requests(sim: Any, client_id: str | None = None) -> list[Any]:
    return [
        r
        for r in sim.requests
        if r.path.endswith("/info/balance") and client_id in (None, r.client_id)
    ]
