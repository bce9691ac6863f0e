"""Fault soak (issue 11): every simulator fault at once over a few hundred client-days, and the
warehouse still ends exactly equal to what the simulator serves, with the retries reported.

SOAK_SCALE=long (environment) runs the long soak: more clients, a longer range, the same faults;
the default, short, stays within a minute or two on a small machine.

    SOAK_SCALE=long .venv/bin/python -m pytest tests/end_to_end/test_fault_soak.py
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest
from end_to_end.expected import count_rows, expected_usage, warehouse_usage
from end_to_end.stack import YESTERDAY, small_options, stack_env
from scripted_api import Asked, api_error, scripted_api

from pipeline.definitions import build_definitions
from pipeline.partner_api import (
    ApiConfig,
    PartnerApiClient,
    RetryPolicy,
    Secret,
    UsageFetch,
)
from pipeline.refresh import execute_refresh
from pipeline.simulator import Faults, run_simulator


@dataclass(frozen=True)
class Scale:
    clients: int
    days: int
    window_days: int
    timeout: int  # seconds pytest allows the test


SCALES = {
    "short": Scale(clients=20, days=15, window_days=5, timeout=240),  # 300 client-days
    "long": Scale(clients=100, days=180, window_days=10, timeout=3600),  # 18,000 client-days
}
SCALE_NAME = os.environ.get("SOAK_SCALE", "short")
if SCALE_NAME not in SCALES:
    raise ValueError(f"SOAK_SCALE={SCALE_NAME!r} must be one of {', '.join(SCALES)}")
SCALE = SCALES[SCALE_NAME]

# Counted over faultable requests (balance and list endpoints, logins not among them); prime
# periods keep every fault in play, and the token fault needs a login (below). About one attempt
# in seven fails (5xx or dropped) and one in five is a 429. A request gives up after ten failed
# attempts (429s do not count): at these rates fewer than one request in a million would, so
# even the long soak's few thousand requests all get through on the retry budget alone.
FAULTS = Faults(
    error_burst_every=19,
    error_burst_length=2,
    drop_every=23,
    slow_every=7,
    slow_seconds=0.05,
    rate_limit_every=5,
    token_expiry_every=13,
    schema_drift=True,
)
# Final days only: the figures do not move while the soak runs.
END = YESTERDAY - timedelta(days=10)
START = END - timedelta(days=SCALE.days - 1)


@pytest.mark.timeout(SCALE.timeout)
def test_every_fault_at_once_ends_exactly_at_the_simulators_truth(tmp_path: Path) -> None:
    options = small_options(
        clients=SCALE.clients,
        retry_after="sometimes",  # 429s alternate with and without Retry-After
        faults=FAULTS,
    )
    with run_simulator(options) as sim:
        env = stack_env(
            sim,
            tmp_path,
            D360_API_KEY="",  # the legacy login, so revoked tokens matter
            D360_USERNAME=sim.username,
            D360_PASSWORD=sim.password,
            PIPELINE_WINDOW_DAYS=str(SCALE.window_days),
            D360_RETRY_SECONDS="120",
        )
        with dg.DagsterInstance.ephemeral() as instance:
            outcome = execute_refresh(build_definitions(env), START, END, instance)
            event = instance.get_latest_materialization_event(dg.AssetKey("usage_daily"))
        # Under drift, the truth is what the simulator serves with drift on.
        assert sim.faults.schema_drift
        truth = expected_usage(sim, START, END)
        requests = sim.requests

    assert outcome.success, outcome.problems
    daily, by_category = warehouse_usage(tmp_path / "warehouse.sqlite", START, END)
    assert daily == truth[0]
    assert by_category == truth[1]
    assert any(category == "marketing_lite_v2" for _, _, category in by_category)  # drift
    covered = count_rows(
        tmp_path / "warehouse.sqlite",
        "select count(*) from usage_coverage where usage_date between ? and ?",
        [START, END],
    )
    assert covered == SCALE.clients * SCALE.days

    # Every fault was injected, 429s more than once (so with and without Retry-After)...
    faults = Counter(r.fault for r in requests if r.fault)
    assert set(faults) == {"error", "drop", "slow", "rate_limit", "token_expiry"}, faults
    assert sum(r.status == 429 for r in requests) >= 2
    # ...and the usage run reports what it took.
    assert event is not None and event.asset_materialization is not None
    metadata = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    assert metadata["clients"] == SCALE.clients and metadata["clients_failed"] == 0
    assert metadata["api_retries"] > 0
    assert metadata["api_rate_limited"] > 0
    assert metadata["api_logins"] > 1


def test_a_token_revoked_again_before_its_first_use_means_another_login() -> None:
    """What the soak meets at D360_CONCURRENCY > 1, made deterministic: the token expires under
    request A, A logs in, and before A's retry arrives another request's revocation takes the new
    token too. Logins work, so A should log in once more instead of failing the run."""
    issued: list[str] = []
    answered: list[str] = []  # the token each answered balance request carried
    lock = threading.Lock()
    body = {"balance": 0, "currency": "eur", "usage": []}

    def script(asked: Asked) -> tuple[int, object]:
        with lock:
            if asked.method == "POST" and asked.path == "/token":
                issued.append(f"token-{len(issued) + 1}")
                return 200, {"access_token": issued[-1], "expires_in": 3600}
            headers = {name.lower(): value for name, value in asked.headers.items()}
            token = headers.get("authorization", "").removeprefix("Bearer ")
            # token-1 serves the first window, then expires; token-2 is revoked before its use.
            if token == "token-2" or (token == "token-1" and answered):
                return api_error(401, "Invalid or expired token")
            answered.append(token)
            return 200, body

    async def fetch() -> UsageFetch:
        config = ApiConfig(
            partner_id="pa",
            username="partner@example.com",
            password=Secret("sim-password"),
            base_url=api.base_url,
            window_days=1,
            concurrency=1,
            retry=RetryPolicy(base_delay=0.01, max_delay=0.05),
        )
        async with PartnerApiClient(config) as client:
            return await client.fetch_usage(["aCL"], END - timedelta(days=1), END)

    with scripted_api(script) as api:
        fetched = asyncio.run(fetch())

    assert fetched.failures == {}
    assert len(fetched.windows) == 2
    assert (issued, answered) == (["token-1", "token-2", "token-3"], ["token-1", "token-3"])
