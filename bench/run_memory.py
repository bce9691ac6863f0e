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
    all_steps,
    dagster_runs,
    job_names,
    measure,
    pipeline_env,
    simulator_process,
    staged_run_command,
    stages_of,
    step_seconds,
    usage_run,
    usage_step,
)
from bench.targets import Target, record

FULL = (200, 1000)
QUICK = (20, 100)
DAYS = 365
QUICK_DAYS = 90
GIB = 1024
GROWTH = 1.25


def _run(clients: int, days: int, folder: Path) -> tuple[Measured, float, list[DagsterRun]]:
    """The run's measurement, the simulator's CPU seconds during it, its Dagster run(s)."""
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
        work = usage_run(runs).work
        start, end = usage_step(runs)
        rows.append(
            (
                f"{clients:,}",
                f"{m.peak_mb:,.0f} MB",
                f"{m.peak_in(m.when('usage: '), m.when('usage: batch', last=True)):,.0f} MB",
                f"{m.peak_in(m.when('usage: batch', last=True)):,.0f} MB",
                m.phase_at_peak(),
                f"{m.seconds:.0f}",
                f"{m.cpu_seconds:.0f}",
                f"{sum(run.seconds for run in runs):.0f}",
                f"{end - start:.0f}",
                f"{work:.0f}" if work is not None else "?",
                f"{sum(step_seconds(runs).values()) - (end - start):.0f}",
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
        "resident size sampled every 50 ms gives the peak while fetching and committing "
        "batches, and from the last batch committed on (partner balance, views, exports, "
        "report). The Dagster seconds are from the event logs of the refresh's run(s) "
        f"({job_names(results[sizes[1]][2])}): all of them, the usage step (`usage`), its usage "
        "work (the step's own fetch, transform and batch commits into the lake, its "
        "`duration_seconds`; the rest of the step is Dagster logging a materialization event "
        "per day for both usage assets, and the step's checks), and the other steps; what the "
        "runs spend outside their steps is mostly a planned event per day and asset.",
        table(
            [
                "clients",
                "peak RSS",
                "peak, batches",
                "peak, after the last batch",
                "peak came after",
                "seconds",
                "CPU seconds",
                "Dagster run(s) (s)",
                "usage step (s)",
                "of which usage work (s)",
                "other steps (s)",
                "simulator CPU seconds",
            ],
            rows,
        ),
        f"Where the {large:,}-client run's time goes: the usage step's stages (timed around "
        "their functions in the same run), then the rest of its Dagster run(s), step by step.",
        table(["stage", "seconds", "CPU seconds"], stage_rows),
    )


def _stage_rows(measured: Measured, runs: list[DagsterRun]) -> list[tuple[str, str, str]]:
    stages = stages_of(measured)
    rows = [(stage, f"{wall:.1f}", f"{cpu:.1f}") for stage, (wall, cpu) in stages.items()]
    work = usage_run(runs).work
    start, end = usage_step(runs)
    in_stages = sum(wall for wall, _ in stages.values())
    if work is not None:
        rows.append(("rest of the usage step's work", f"{work - in_stages:.1f}", ""))
        rows.append(
            (
                "usage step outside its work: Dagster events, checks",
                f"{end - start - work:.1f}",
                "",
            )
        )
    steps = all_steps(runs)
    for step, (began, ended) in steps.items():
        if (began, ended) != (start, end):
            rows.append((f"step {step}", f"{ended - began:.1f}", ""))
    in_steps = sum(ended - began for began, ended in steps.values())
    in_runs = sum(run.seconds for run in runs)
    rows.append(
        (
            "Dagster run(s) outside their steps: planned events, run start and end",
            f"{in_runs - in_steps:.1f}",
            "",
        )
    )
    rows.append(
        ("outside the Dagster runs: start-up, summary", f"{measured.seconds - in_runs:.1f}", "")
    )
    return rows


def _peak_step(measured: Measured, runs: list[DagsterRun]) -> str:
    """The Dagster step during which the resident size peaked, and that peak."""
    spans = [(measured.peak_in(start, end), step) for step, (start, end) in all_steps(runs).items()]
    peak, step = max(spans, default=(0.0, "?"))
    return f"highest during the step {step} ({peak:,.0f} MB)"
