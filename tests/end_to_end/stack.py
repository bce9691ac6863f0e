"""A simulator plus a pipeline environment pointed at it: real HTTP, DuckDB files, Dagster runs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from pipeline import clock
from pipeline.definitions import build_definitions
from pipeline.refresh import RefreshOutcome, execute_refresh
from pipeline.simulator import SimulatorOptions
from pipeline.warehouse.store import THREADS_VARIABLE

# The suite's yesterday: tests/conftest.py pins the pipeline's clock before any test module loads.
YESTERDAY = clock.yesterday()


@dataclass
class Stack:
    """A simulator plus the environment of a pipeline pointed at it."""

    sim: object
    env: dict[str, str]
    tmp: Path

    @property
    def warehouse(self) -> Path:
        return Path(self.env["PIPELINE_WAREHOUSE"])

    @property
    def export_dir(self) -> Path:
        return Path(self.env["PIPELINE_EXPORT_DIR"])

    def refresh(self, start: date, end: date, **env: str) -> RefreshOutcome:
        defs = build_definitions({**self.env, **env})
        with dg.DagsterInstance.ephemeral() as instance:
            return execute_refresh(defs, start, end, instance)


def stack_env(sim: object, tmp: Path, **extra: str) -> dict[str, str]:
    return {
        "D360_BASE_URL": sim.base_url,
        "D360_PARTNER_ID": sim.partner_id,
        "D360_API_KEY": sim.api_key,
        clock.TODAY_VARIABLE: clock.today().isoformat(),  # a subprocess sees the suite's today
        # ... and the suite's DuckDB threads (tests/conftest.py), whatever else its env drops.
        THREADS_VARIABLE: os.environ.get(THREADS_VARIABLE, ""),  # empty: DuckDB's default
        "PIPELINE_WAREHOUSE": str(tmp / "warehouse.sqlite"),
        "PIPELINE_EXPORT_DIR": str(tmp / "export"),
        "PIPELINE_REPORT_DIR": str(tmp / "reports"),
        "PIPELINE_START_DATE": (YESTERDAY - timedelta(days=400)).isoformat(),
        "PIPELINE_WINDOW_DAYS": "10",
        "D360_BALANCE_RATE": "5/2",
        # The report's charts, a CPU-second per refresh, are drawn where they are the subject
        # (tests/report, test_any_date.py), not in every refresh of the suite.
        "PIPELINE_RUN_REPORT": "off",
        **extra,
    }


def small_options(**overrides: object) -> SimulatorOptions:
    """Eight clients, a short history and a 2-second rate window keep every test fast; the
    simulator's today is the suite's."""
    base = {
        "seed": 11,
        "clients": 8,
        "history_days": 400,
        "balance_rate": (5, 2.0),
        "today": clock.today(),
    }
    return SimulatorOptions(**{**base, **overrides})
