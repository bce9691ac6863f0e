"""What every benchmark shares: timing, the machine it ran on, markdown tables, the API client."""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

from pipeline.partner_api import ApiConfig, PartnerApiClient, RequestStats, Secret, UsageFetch
from pipeline.simulator import Simulator


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds the action took, and what it returned."""
    began = time.perf_counter()
    result = action()
    return time.perf_counter() - began, result


def median_seconds(action: Callable[[], Any], repeat: int = 3) -> float:
    return statistics.median(timed(action)[0] for _ in range(repeat))


def machine() -> str:
    """The date and the facts that move the figures: CPUs and how busy they were (other work
    shares this machine), Python and the libraries' versions."""
    packages = ", ".join(f"{p} {version(p)}" for p in ("duckdb", "polars", "dagster", "httpx"))
    return (
        f"{datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} CPUs ({platform.machine()}, "
        f"15-minute load average {os.getloadavg()[2]:.1f}), Python {platform.python_version()}, "
        f"{packages}"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def section(title: str, what: str, *parts: str) -> str:
    """A subsection of docs/benchmarks.md: title, what was measured and on which machine, then
    tables and notes."""
    return "\n\n".join([f"### {title}", f"{what}\n\n_Measured {machine()}._", *parts]) + "\n"


def yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


def last_days(days: int) -> tuple[date, date]:
    """The first and the last day of the `days` days ending yesterday."""
    end = yesterday()
    return end - timedelta(days=days - 1), end


def api_config(sim: Simulator, **settings: Any) -> ApiConfig:
    """A client configuration pointed at the simulator; `settings` are ApiConfig fields."""
    return ApiConfig(
        partner_id=sim.partner_id,
        api_key=Secret(sim.api_key),
        base_url=sim.base_url,
        **settings,
    )


def fetch_usage(
    config: ApiConfig, client_ids: Sequence[str], start: date, end: date
) -> tuple[float, UsageFetch, RequestStats]:
    """`PartnerApiClient.fetch_usage` in a fresh client: seconds, what came back, the counters."""

    async def fetch() -> tuple[UsageFetch, RequestStats]:
        async with PartnerApiClient(config) as api:
            result = await api.fetch_usage(client_ids, start, end)
            return result, api.stats

    seconds, (result, stats) = timed(lambda: asyncio.run(fetch()))
    if result.failures:
        raise RuntimeError(f"the benchmark's fetch failed: {next(iter(result.failures.values()))}")
    return seconds, result, stats


RESULTS = Path(__file__).parent / "results"


class Skipped(Exception):
    """A benchmark that cannot run on this machine; the message says why, in one line."""


@dataclass(frozen=True)
class Options:
    """What `python -m bench` was asked for; benchmarks whose `run` takes it adapt their size."""

    quick: bool = False
    """Small sizes: a minute or two in all, to see that the benchmarks work."""
    clients: int | None = None
    """The client count of the 10,000-client benchmarks (replay, daily), when not the default."""
    results: Path = RESULTS
    """Where the results files go."""


def refresh_env(sim: Simulator, folder: str, start: date, **settings: str) -> dict[str, str]:
    """A pipeline environment pointed at `sim`, with its files in `folder` and its partitions
    from `start`; `settings` adds or overrides variables."""
    return {
        "D360_BASE_URL": sim.base_url,
        "D360_PARTNER_ID": sim.partner_id,
        "D360_API_KEY": sim.api_key,
        "PIPELINE_WAREHOUSE": f"{folder}/warehouse.sqlite",
        "PIPELINE_EXPORT_DIR": f"{folder}/export",
        "PIPELINE_REPORT_DIR": f"{folder}/reports",
        "PIPELINE_START_DATE": start.isoformat(),
        **settings,
    }
