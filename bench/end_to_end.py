"""A whole refresh through Dagster, and what each day of a range costs in Dagster bookkeeping.

`execute_refresh` as `python -m pipeline run` calls it, against the simulator without a rate
limit and one balance window a client (PIPELINE_WINDOW_DAYS=366), so the API is never waited on.
Two instances: a persistent one on SQLite (what the CLI and `dagster dev` use) and an in-memory
one (what the tests use).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

import dagster as dg

from bench.common import refresh_env, section, table, timed, yesterday
from pipeline.definitions import build_definitions
from pipeline.refresh import execute_refresh
from pipeline.simulator import Simulator, SimulatorOptions, run_simulator

CLIENTS = 20
RANGES = (30, 90, 365)
INSTANCES = ("SQLite", "in-memory")
USAGE_ASSETS = ("usage_daily", "usage_by_category")


def _refresh(sim: Simulator, days: int, kind: str) -> dict:
    """One refresh of the last `days` days into empty folders: its seconds and events, and the
    jobs of its Dagster run(s) (one `warehouse_refresh`, or the staged ones)."""
    end = yesterday()
    start = end - timedelta(days=days - 1)
    with tempfile.TemporaryDirectory() as tmp:
        env = refresh_env(sim, tmp, start, PIPELINE_WINDOW_DAYS="366")
        defs = build_definitions(env)
        home = Path(tmp) / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        instance = (
            dg.DagsterInstance.local_temp(str(home))
            if kind == "SQLite"
            else dg.DagsterInstance.ephemeral()
        )
        with instance:
            seconds, outcome = timed(lambda: execute_refresh(defs, start, end, instance))
            if not outcome.success:
                raise RuntimeError(f"the benchmark's refresh failed: {outcome.problems}")
            logs = [r for run_id in outcome.run_ids for r in instance.all_logs(run_id)]
            runs = [instance.get_run_by_id(run_id) for run_id in outcome.run_ids]
            jobs = [run.job_name for run in runs if run is not None]
    events = Counter(e.dagster_event.event_type_value for e in logs if e.dagster_event)
    planned = Counter(
        e.dagster_event.asset_key.to_user_string()
        for e in logs
        if e.dagster_event
        and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION_PLANNED"
        and e.dagster_event.asset_key
    )
    # The usage step's work, found by its asset in whichever run materialized it.
    usage_work = next(
        e.dagster_event.event_specific_data.materialization.metadata["duration_seconds"].value
        for e in logs
        if e.dagster_event
        and e.dagster_event.is_step_materialization
        and e.dagster_event.asset_key == dg.AssetKey("usage_daily")
    )
    return {
        "seconds": seconds,
        "usage_work": usage_work,
        "events": sum(events.values()),
        "planned": events["ASSET_MATERIALIZATION_PLANNED"],
        "materializations": events["ASSET_MATERIALIZATION"],
        "planned_by_asset": planned,
        "jobs": jobs,
    }


def run() -> str:
    options = SimulatorOptions(seed=9, clients=CLIENTS, history_days=400, balance_rate=None)
    results: dict[tuple[int, str], dict] = {}
    with run_simulator(options) as sim:
        _refresh(sim, 3, "in-memory")  # warm up: imports, the first DuckDB and polars calls
        for days in RANGES:
            for kind in INSTANCES:
                results[days, kind] = _refresh(sim, days, kind)
    rows = []
    for (days, kind), r in results.items():
        rest = r["seconds"] - r["usage_work"]
        rows.append(
            (
                days,
                kind,
                f"{r['seconds']:.1f}",
                f"{r['seconds'] / days * 1000:.0f}",
                f"{r['usage_work']:.2f}",
                f"{rest:.1f}",
                int(r["events"]),
                int(r["planned"]),
                int(r["materializations"]),
            )
        )
    first, last = RANGES[0], RANGES[-1]

    def slope(kind: str) -> float:
        extra = [
            results[d, kind]["seconds"] - results[d, kind]["usage_work"] for d in (first, last)
        ]
        return (extra[1] - extra[0]) / (last - first) * 1000

    def per_day(event: str) -> float:
        grew = results[last, "SQLite"][event] - results[first, "SQLite"][event]
        return grew / (last - first)

    def per_event(kind: str) -> float:
        grew = results[last, kind]["events"] - results[first, kind]["events"]
        return slope(kind) * (last - first) / grew

    jobs = results[first, "SQLite"]["jobs"]
    planned_first, planned_last = (results[d, "SQLite"]["planned_by_asset"] for d in (first, last))
    per_day_assets = sorted(a for a in planned_last if planned_last[a] > planned_first.get(a, 0))
    usage_only = set(per_day_assets) <= set(USAGE_ASSETS)
    which = (
        "Both kinds are the two partitioned assets' (usage_daily, usage_by_category): in a "
        "ranged run Dagster logs a planned event per day for every asset of the job, which is "
        "why the unpartitioned assets run in runs of their own."
        if usage_only and len(jobs) > 1
        else "In a ranged run Dagster logs a planned event per day for every asset of the "
        f"job: here for {len(per_day_assets)} assets ({', '.join(per_day_assets)})."
    )

    return section(
        "End to end (`python -m pipeline run`)",
        f"`pipeline.refresh.execute_refresh` for {CLIENTS} clients into an empty warehouse: "
        f"{_runs_text(jobs)} over the range. Usage work is the usage step's own fetch + "
        "transform + batch commits into the lake (the `duration_seconds` metadata of its "
        "usage_daily materialization); the rest is the other steps and Dagster.",
        table(
            [
                "days",
                "instance",
                "seconds",
                "ms per day",
                "usage work (s)",
                "rest (s)",
                "events",
                "planned",
                "materializations",
            ],
            rows,
        ),
        f"**Dagster's bookkeeping grows with the days, the work hardly does.** Between "
        f"{first} and {last} days the time outside the usage work grows by "
        f"{slope('SQLite'):.0f} ms a day on SQLite (about {per_event('SQLite'):.0f} ms per "
        f"extra event) and {slope('in-memory'):.0f} ms a day in memory: every day of a ranged "
        f"run adds {per_day('planned'):.0f} planned and {per_day('materializations'):.0f} "
        "materialization events, while fetching a year for a client is still one request. " + which,
    )


def _runs_text(jobs: list[str]) -> str:
    """The refresh's Dagster run(s) in words: one job, or the staged jobs in order."""
    names = ", ".join(f"`{job}`" for job in jobs)
    return f"one Dagster run of {names}" if len(jobs) == 1 else f"the Dagster runs {names}"
