"""What cost per phone number (PIPELINE_CHANNEL_USAGE=on) costs: requests and time of a daily
run and of a month's backfill, with and without channel usage, for a realistic partner.

The simulator answers after 50 ms (a network round trip) and keeps the documented limit of 5
balance requests per 30 s per client, so the channel requests share each client's limit as they
would on the real API; the run's own 429 count shows whether they ever meet it.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from typing import Any

import dagster as dg

from bench.common import refresh_env, section, table, timed, yesterday
from pipeline.definitions import build_definitions
from pipeline.refresh import execute_refresh
from pipeline.simulator import Simulator, SimulatorOptions, run_simulator

CLIENTS = 100
LATENCY = 0.05
OPTIONS = SimulatorOptions(seed=12, clients=CLIENTS, history_days=120, latency_seconds=LATENCY)


def _refresh(days: int, channel_usage: str) -> dict[str, float]:
    """One run on a simulator of its own: a run within 30 s of another would share its clients'
    rate windows, which the client's limiter cannot know (see Known limitations)."""
    with run_simulator(OPTIONS) as sim:
        return _measured(sim, days, channel_usage)


def _measured(sim: Simulator, days: int, channel_usage: str) -> dict[str, float]:
    end = yesterday()
    start = end - timedelta(days=days - 1)
    with tempfile.TemporaryDirectory() as tmp:
        env = refresh_env(
            sim, tmp, start, PIPELINE_WINDOW_DAYS="31", PIPELINE_CHANNEL_USAGE=channel_usage
        )
        with dg.DagsterInstance.ephemeral() as instance:
            seconds, outcome = timed(
                lambda: execute_refresh(build_definitions(env), start, end, instance)
            )
            if not outcome.success:
                raise RuntimeError(f"the benchmark's refresh failed: {outcome.problems}")
            event = instance.get_latest_materialization_event(dg.AssetKey("usage_daily"))
        assert event is not None and event.asset_materialization is not None
        metadata: dict[str, Any] = {
            k: v.value for k, v in event.asset_materialization.metadata.items()
        }
    balance = [r for r in sim.requests if r.path.endswith("/info/balance")]
    return {
        "seconds": seconds,
        "usage_work": float(metadata["duration_seconds"]),
        "requests": len(balance),
        "channel_requests": float(metadata["channel_requests"]),
        "rate_limited": sum(r.status == 429 for r in balance),
    }


def run() -> str:
    with run_simulator(OPTIONS) as sim:
        channels = sum(len(sim.channel_app_ids(c)) for c in sim.client_ids())
    rows = []
    for days, label in ((1, "daily run (yesterday)"), (31, "a month's backfill")):
        for name in ("off", "on"):
            r = _refresh(days, name)
            rows.append(
                (
                    label,
                    name,
                    int(r["requests"]),
                    int(r["channel_requests"]),
                    f"{r['usage_work']:.1f}",
                    f"{r['seconds']:.1f}",
                    int(r["rate_limited"]),
                )
            )
    headers = (
        "run",
        "channel usage",
        "balance requests",
        "of which per channel",
        "usage step (s)",
        "whole run (s)",
        "429s",
    )
    return section(
        "Channel usage (`PIPELINE_CHANNEL_USAGE`)",
        f"{CLIENTS} clients with {channels} channels (the simulator's mix of one to three numbers "
        f"a client), {LATENCY * 1000:.0f} ms per answer, the documented limit of 5 balance "
        "requests per 30 s per client, default concurrency (8). Channel usage costs one request "
        "per channel per window on top of the client's own: here "
        f"{channels / CLIENTS:.1f}x the client requests. The usage step's time grows with the "
        "requests (latency x requests / concurrency); a client with up to four channels stays "
        "within its 5 requests per 30 s in a daily run, so no request waits on the limit. Each run "
        "has a simulator of its own.",
        table(headers, rows),
    )


if __name__ == "__main__":
    print(run())
