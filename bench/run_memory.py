"""Peak memory of `python -m pipeline run` over a year, 200 clients against 1,000.

One window per client (PIPELINE_WINDOW_DAYS=366), the simulator in a process of its own without
its rate limit, each run into an empty folder. The run's peak RSS is its own process's; the
resident size is sampled every 50 ms, so the table says which step the peak came in.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from bench.common import Options, section, table, yesterday
from bench.history import HISTORY_DAYS
from bench.processes import (
    DagsterRun,
    Measured,
    dagster_runs,
    measure,
    pipeline_env,
    simulator_process,
    staged_run_command,
    stages_of,
)
from bench.targets import Target, record

FULL = (200, 1000)
QUICK = (20, 100)
DAYS = 365
QUICK_DAYS = 90
GIB = 1024
GROWTH = 1.25


def _run(clients: int, days: int, folder: Path) -> tuple[Measured, float, list[DagsterRun]]:
    """The run's measurement, the simulator's CPU seconds during it, the run's Dagster runs."""
    end = yesterday()
    start = end - timedelta(days=days - 1)
    with simulator_process(clients, HISTORY_DAYS, folder) as sim:
        env = pipeline_env(folder / "run", sim.base_url, PIPELINE_WINDOW_DAYS=366)
        before = sim.cpu_seconds()
        command = staged_run_command("--start", start.isoformat(), "--end", end.isoformat())
        measured = measure(command, env, folder).check()
        sim_cpu = sim.cpu_seconds() - before
    return measured, sim_cpu, dagster_runs(folder / "run" / "dagster_home")


def run(options: Options | None = None) -> str:
    options = options or Options()
    sizes = QUICK if options.quick else FULL
    days = QUICK_DAYS if options.quick else DAYS
    results: dict[int, tuple[Measured, float, list[DagsterRun]]] = {}
    for clients in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
            results[clients] = _run(clients, days, Path(tmp))
    rows = []
    for clients, (m, sim_cpu, runs) in results.items():
        usage = next(run for run in runs if run.job == "usage_backfill")
        other = sum(run.seconds for run in runs if run is not usage)
        rows.append(
            (
                f"{clients:,}",
                f"{m.peak_mb:,.0f} MB",
                f"{m.peak_in(m.when('usage: '), m.when('usage: batch', last=True)):,.0f} MB",
                f"{m.peak_in(m.when('usage: batch', last=True)):,.0f} MB",
                m.phase_at_peak(),
                f"{m.seconds:.0f}",
                f"{m.cpu_seconds:.0f}",
                f"{usage.seconds:.0f}",
                f"{usage.work:.0f}" if usage.work is not None else "?",
                f"{other:.0f}",
                f"{sim_cpu:.0f}",
            )
        )
    small, large = sizes
    stage_rows = _stage_rows(results[large][0], results[large][2])
    base, big = results[small][0].peak_mb, results[large][0].peak_mb
    growth = big / base
    record(
        "run_memory",
        [
            Target(
                f"`run`, {large:,} clients x {days} days, one window a client: peak RSS",
                f"< 1 GiB, and <= +{GROWTH - 1:.0%} over {small:,} clients",
                f"{big:,.0f} MB; {growth - 1:+.0%} over {small:,} clients ({base:,.0f} MB)",
                big < GIB and growth <= GROWTH,
                f"peak {results[large][0].phase_at_peak()}; {_peak_step(*results[large][::2])}",
            )
        ],
        options.results,
    )
    return section(
        "Memory of a year's run (`python -m pipeline run`)",
        f"{days} days ending yesterday, one balance window a client (PIPELINE_WINDOW_DAYS=366), "
        "default batch size; the simulator is a process of its own without rate limit. Each "
        "figure is one run into an empty folder. Peak RSS of the pipeline process; the "
        "resident size sampled every 50 ms gives the peak while fetching and saving batches, "
        "and from the last batch on (publish, views, exports, report). The usage run's seconds "
        "are from its Dagster event log; its usage work is the usage step's own fetch, "
        "transform, journal and publish (`duration_seconds`); the rest of that run is Dagster "
        "logging a planned and a materialization event per day for both usage assets, and the "
        "checks.",
        table(
            [
                "clients",
                "peak RSS",
                "peak, batches",
                "peak, publish on",
                "peak came after",
                "seconds",
                "CPU seconds",
                "usage run (s)",
                "of which usage work (s)",
                "directory + publish runs (s)",
                "simulator CPU seconds",
            ],
            rows,
        ),
        f"Where the {large:,}-client run's time goes: the usage step's stages (timed around "
        "their functions in the same run), then the rest of each Dagster run.",
        table(["stage", "seconds", "CPU seconds"], stage_rows),
    )


def _stage_rows(measured: Measured, runs: list[DagsterRun]) -> list[tuple[str, str, str]]:
    stages = stages_of(measured)
    rows = [(stage, f"{wall:.1f}", f"{cpu:.1f}") for stage, (wall, cpu) in stages.items()]
    usage = next(run for run in runs if run.job == "usage_backfill")
    in_stages = sum(wall for wall, _ in stages.values())
    if usage.work is not None:
        rows.append(("rest of the usage step", f"{usage.work - in_stages:.1f}", ""))
        rows.append(
            (
                "usage run outside its step's work: Dagster events, checks",
                f"{usage.seconds - usage.work:.1f}",
                "",
            )
        )
    for run in runs:
        if run is not usage:
            rows.append((f"Dagster run {run.job}", f"{run.seconds:.1f}", ""))
    outside = measured.seconds - sum(run.seconds for run in runs)
    rows.append(("outside the Dagster runs: start-up, summary", f"{outside:.1f}", ""))
    return rows


def _peak_step(measured: Measured, runs: list[DagsterRun]) -> str:
    """The Dagster step during which the resident size peaked, and that peak."""
    spans = [
        (measured.peak_in(start, end), f"{run.job}: {step}")
        for run in runs
        for step, (start, end) in run.spans.items()
    ]
    peak, step = max(spans, default=(0.0, "?"))
    return f"highest during the step {step} ({peak:,.0f} MB)"
