"""Start-up of `python -m pipeline run`: from the command's start to the simulator's first
`/info/balance` request, and where that time goes.

Each run goes into an empty folder and DAGSTER_HOME, against a simulator already running in this
process (without rate limit), whose request log says when the first balance request came in.
The plain command is timed beside the same command with its start-up functions timed in the same
process (`_TIMED_RUN`): the imports, the preflight checks, the Dagster instance, the definitions,
the listings, the Dagster run(s) up to the usage step's work (one run of the whole refresh, or
its staged runs: the stages do not depend on which), the usage work up to its first request.
`python -X importtime` splits the imports by top-level package in a process of its own.
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
from collections import defaultdict
from datetime import date
from pathlib import Path

from bench.common import Options, last_days, section, table
from bench.processes import (
    PYTHON,
    STAGE_TIMERS,
    UNLIMITED_CLIENT_RATE,
    Measured,
    logged_simulator,
    measure,
    pipeline_command,
    pipeline_env,
    spans_of,
)
from pipeline.simulator import Simulator

CLIENTS, DAYS, REPEAT = 300, 90, 3
QUICK_CLIENTS, QUICK_DAYS, QUICK_REPEAT = 20, 30, 1
TARGET_SECONDS = 2.0
"""Issue 17's target: the first balance request within 2 s of the command's start."""
SHOWN_PACKAGES = 6

# `python -m pipeline run ARGS` with its start-up functions timed (STAGE_TIMERS' spans).
_TIMED_RUN = (
    STAGE_TIMERS
    + """
began = _now()
import pipeline.cli
import pipeline.defs.usage as usage
import pipeline.preflight as preflight
import pipeline.refresh as refresh
from pipeline.partner_api import PartnerApiClient
_add("imports", *began)

# The CLI imports check_run when it calls it; run_refresh holds a name of its own for it.
timed(preflight, "check_run", "preflight")
timed(refresh, "check_run", "preflight")
timed(refresh, "open_instance", "instance")
timed(refresh, "build_definitions", "definitions")
timed(refresh, "execute_run", "Dagster run")
timed_async(PartnerApiClient, "list_clients", "listing")
timed_async(PartnerApiClient, "list_channels", "listing")
timed(usage, "fetch_usage_in_batches", "usage work")
atexit.register(_print_stages)

sys.exit(pipeline.cli.main(["run", *sys.argv[1:]]))
"""
)
STAGES = (
    "Python's own start (interpreter, site)",
    "imports (pipeline, Dagster, polars, DuckDB, httpx, ...)",
    "preflight checks (the CLI's and run_refresh's)",
    "Dagster instance (open_instance)",
    "definitions (build_definitions)",
    "listing clients and channels (the directory steps' requests)",
    "Dagster up to the usage step's work, beside the listings (runs' and steps' start, "
    "loading the listings, events)",
    "usage step's work up to its first request",
    "the rest (arguments, settings, before the first Dagster run)",
)


def run(options: Options | None = None) -> str:
    options = options or Options()
    clients, days, repeat = (
        (QUICK_CLIENTS, QUICK_DAYS, QUICK_REPEAT) if options.quick else (CLIENTS, DAYS, REPEAT)
    )
    start, end = last_days(days)
    plain: list[float] = []
    breakdowns: list[dict[str, tuple[float, float | None]]] = []
    with logged_simulator(clients) as sim:
        for _ in range(repeat):
            measured, first = _run(sim, pipeline_command("run"), start, end)
            plain.append(first - measured.began)
            measured, first = _run(sim, [PYTHON, "-c", _TIMED_RUN], start, end)
            breakdowns.append(_breakdown(measured, first))
    imports = _imports_by_package()
    median = statistics.median(plain)
    wall = {stage: statistics.median(run[stage][0] for run in breakdowns) for stage in STAGES}
    cpu = {stage: _median_cpu([run[stage][1] for run in breakdowns]) for stage in STAGES}
    biggest = sorted(wall, key=wall.__getitem__, reverse=True)[:3]
    timed_total = statistics.median(sum(w for w, _ in run.values()) for run in breakdowns)
    return section(
        "Start-up (`python -m pipeline run` to its first balance request)",
        f"{clients} clients x {days} days ending yesterday, each command run {repeat}x, each run "
        "into an empty folder and DAGSTER_HOME; the simulator was already running (in the "
        "benchmark's process, without rate limit) and its request log gives the first "
        "`/info/balance` request's arrival. The timed command is the same run with its "
        "start-up functions timed in its own process.",
        table(
            ["what", "target", "measured (median)", "each run", "verdict"],
            [
                (
                    "`python -m pipeline run` to the first `/info/balance` request",
                    f"<= {TARGET_SECONDS:.0f} s",
                    f"{median:.1f} s",
                    ", ".join(f"{seconds:.1f}" for seconds in plain),
                    "met" if median <= TARGET_SECONDS else "**missed**",
                ),
            ],
        ),
        f"Where the timed command's {timed_total:.1f} s (median) went, in the order it spends "
        "them; CPU seconds are the process's own (none are known for the stretch that ends "
        "with the request, nor for the gaps between the timed functions):",
        table(
            ["stage", "seconds (median)", "share", "CPU seconds (median)", "each run (seconds)"],
            [
                (
                    stage,
                    f"{wall[stage]:.2f}",
                    f"{wall[stage] / timed_total:.0%}",
                    "" if cpu[stage] is None else f"{cpu[stage]:.2f}",
                    ", ".join(f"{run[stage][0]:.2f}" for run in breakdowns),
                )
                for stage in STAGES
            ],
        ),
        f"**Biggest costs:** {'; '.join(f'{s} {wall[s]:.1f} s' for s in biggest)}. The "
        "imports by top-level package (`python -X importtime`, each module's own time, in a "
        "process of its own; importtime slows them down itself):",
        table(
            ["package", "seconds", "share"],
            [
                (package, f"{seconds:.2f}", f"{seconds / sum(imports.values()):.0%}")
                for package, seconds in imports.items()
            ],
        ),
    )


def _run(sim: Simulator, command: list[str], start: date, end: date) -> tuple[Measured, float]:
    """One whole run into an empty folder; its measurement and when the first balance request
    came in (time.time())."""
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        env = pipeline_env(Path(tmp), sim.base_url, D360_BALANCE_RATE=UNLIMITED_CLIENT_RATE)
        sim.clear_requests()
        argv = [*command, "--start", start.isoformat(), "--end", end.isoformat()]
        measured = measure(argv, env, Path(tmp)).check()
    first = min(r.arrived for r in sim.requests if r.path.endswith("/info/balance"))
    return measured, first


def _breakdown(measured: Measured, first: float) -> dict[str, tuple[float, float | None]]:
    """Wall and CPU seconds per stage (STAGES) from the command's start to the first balance
    request (CPU None where it is not known)."""
    spans = spans_of(measured)

    def spent(label: str) -> tuple[float, float]:
        calls = [call for call in spans.get(label, []) if call.end <= first]
        return sum(c.end - c.start for c in calls), sum(c.cpu_end - c.cpu_start for c in calls)

    [imports] = spans["imports"]
    dagster = min(spans["Dagster run"])  # the refresh's first run, whether it has one or three
    work = min(spans["usage work"])
    listing = spent("listing")
    stages: list[tuple[float, float | None]] = [
        (imports.start - measured.began, imports.cpu_start),
        (imports.end - imports.start, imports.cpu_end - imports.cpu_start),
        spent("preflight"),
        spent("instance"),
        spent("definitions"),
        listing,
        (
            work.start - dagster.start - listing[0],
            work.cpu_start - dagster.cpu_start - listing[1],
        ),
        (first - work.start, None),
    ]
    rest = first - measured.began - sum(seconds for seconds, _ in stages)
    return dict(zip(STAGES, [*stages, (rest, None)], strict=True))


def _median_cpu(seconds: list[float | None]) -> float | None:
    known = [s for s in seconds if s is not None]
    return statistics.median(known) if known else None


def _imports_by_package() -> dict[str, float]:
    """Seconds of each top-level package's own import time, the biggest first, the others in
    one row."""
    done = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", "import pipeline.cli, pipeline.refresh"],
        capture_output=True,
        text=True,
        check=True,
    )
    own: defaultdict[str, float] = defaultdict(float)
    for line in done.stderr.splitlines():
        # "import time:  self [us] | cumulative | imported package", the name indented by depth
        fields = line.removeprefix("import time:").split("|")
        if len(fields) == 3 and fields[0].strip().isdigit():
            own[fields[2].strip().split(".")[0]] += int(fields[0]) / 1e6
    ranked = sorted(own.items(), key=lambda item: item[1], reverse=True)
    shown, others = ranked[:SHOWN_PACKAGES], ranked[SHOWN_PACKAGES:]
    return dict(shown) | {f"{len(others)} other packages": sum(s for _, s in others)}
