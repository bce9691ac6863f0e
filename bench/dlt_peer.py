"""A whole `python -m pipeline run` against dlt's `rest_api` source loading the same usage.

Optional: `python -m bench dlt_peer` runs it, `python -m bench` alone does not, since it installs
dlt from PyPI. dlt goes into a virtual environment of its own, `bench/.venv-dlt/` (gitignored),
made with the project's uv, never into `.venv` or `uv.lock`; it gets the project's DuckDB version,
so this process can read the file dlt loaded. When dlt cannot be installed, one line says why and
the benchmark is skipped.

Both sides load the same clients and days from one simulator (in this process, without rate
limit) into fresh folders, one run each, in the same benchmark run:
- the pipeline: `python -m pipeline run` with an empty DAGSTER_HOME and its defaults, except that
  the client's own per-client limit is lifted (its month figures make 6 requests a client);
- dlt: `_DLT_SCRIPT`, the clients listing paged by offset, then for every client the
  day-granularity `/info/balance` windows the pipeline requests (31 days each), parallelized on
  as many workers as the pipeline's D360_CONCURRENCY, into a duckdb file.
Wall time, CPU and peak RSS of each process come from the wrapper of bench/processes.py (CPU of
the whole process tree, the peak of its largest process). Each side is one process with no
children: the pipeline runs its Dagster runs in process, dlt normalizes in process (one
normalize worker, its default).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path

import duckdb

from bench.common import Options, Skipped, last_days, section, table
from bench.processes import (
    PYTHON,
    UNLIMITED_CLIENT_RATE,
    Measured,
    dagster_runs,
    logged_simulator,
    measure,
    pipeline_command,
    pipeline_env,
    usage_run,
)
from pipeline.partner_api.config import DEFAULT_CONCURRENCY, DEFAULT_WINDOW_DAYS
from pipeline.partner_api.windows import split_windows, unix_bounds
from pipeline.simulator import Simulator
from pipeline.warehouse import Warehouse

CLIENTS, DAYS = 300, 90
QUICK_CLIENTS, QUICK_DAYS = 20, 30
FASTER, LESS_MEMORY = 2.5, 4.0
"""Issue 17's targets: dlt's wall time and peak RSS over the pipeline's."""
DLT_VENV = Path(__file__).parent / ".venv-dlt"
UV = Path(__file__).parent.parent / ".tools" / "bin" / "uv"
DLT = "dlt[duckdb]>=1.31,<2"

# argv: the folder to load into, the windows as JSON [[start_date, end_date], ...]; the API's
# address and credentials come from the pipeline's own D360_* variables.
_DLT_SCRIPT = """
import json, os, sys

import dlt
from dlt.sources.rest_api import rest_api_source

folder, windows = sys.argv[1], json.loads(sys.argv[2])


def usage(index, start_date, end_date):
    # A resource per window: a child path is resolved from one parent field, the client id.
    return {
        "name": f"usage_{index}",
        "table_name": "usage",
        "endpoint": {
            "path": "clients/{resources.clients.id}/info/balance",
            "params": {"start_date": start_date, "end_date": end_date, "granularity": "day"},
            "data_selector": "usage",
            "paginator": "single_page",
        },
        "include_from_parent": ["id"],
        "parallelized": True,
    }


source = rest_api_source(
    {
        "client": {
            "base_url": f"{os.environ['D360_BASE_URL']}/partners/{os.environ['D360_PARTNER_ID']}/",
            "auth": {
                "type": "api_key",
                "name": "X-API-Key",
                "api_key": os.environ["D360_API_KEY"],
                "location": "header",
            },
        },
        "resource_defaults": {"write_disposition": "append"},
        "resources": [
            {
                "name": "clients",
                "endpoint": {
                    "path": "clients",
                    "data_selector": "clients",
                    "paginator": {"type": "offset", "limit": 100, "total_path": "total"},
                },
            },
            *(usage(index, *window) for index, window in enumerate(windows)),
        ],
    }
)
pipeline = dlt.pipeline(
    "dlt_peer",
    destination=dlt.destinations.duckdb(f"{folder}/dlt.duckdb"),
    dataset_name="partner",
    pipelines_dir=f"{folder}/pipelines",
)
print(pipeline.run(source), file=sys.stderr)
"""


@dataclass(frozen=True)
class Side:
    measured: Measured
    rows: int
    clients: int
    total_price: Decimal
    requests: Counter[str]


def run(options: Options | None = None) -> str:
    options = options or Options()
    clients, days = (QUICK_CLIENTS, QUICK_DAYS) if options.quick else (CLIENTS, DAYS)
    dlt_python, dlt_version = _install_dlt()
    start, end = last_days(days)
    # Both sides then start with their modules in the file cache.
    subprocess.run([PYTHON, "-c", "import pipeline.refresh"], check=True)
    with tempfile.TemporaryDirectory(prefix="bench-dlt-") as tmp, logged_simulator(clients) as sim:
        folder = Path(tmp)
        ours = _pipeline_side(sim, folder / "pipeline", start, end)
        theirs = _dlt_side(sim, folder / "dlt", dlt_python, start, end)
        runs = dagster_runs(folder / "pipeline" / "dagster_home")
    faster = theirs.measured.seconds / ours.measured.seconds
    cpu_faster = theirs.measured.cpu_seconds / ours.measured.cpu_seconds
    less_memory = theirs.measured.peak_mb / ours.measured.peak_mb
    same = (ours.rows, ours.total_price) == (theirs.rows, theirs.total_price)
    usage = usage_run(runs)
    spent = ", ".join(f"{r.job} {r.seconds:.1f} s" for r in runs)
    return section(
        "dlt's `rest_api` as a peer (`python -m pipeline run`)",
        f"{clients} clients x {days} days ending yesterday, one run each into fresh folders, "
        "from one simulator without rate limit. The pipeline: a whole `python -m pipeline "
        "run` with an empty DAGSTER_HOME (directory, usage with the ended months' figures, "
        "views, exports, report; the client's own per-client limit lifted). dlt "
        f"{dlt_version} (`bench/.venv-dlt/`): its `rest_api` source listing the clients by "
        f"offset, then each client's day windows of `/info/balance` ({DEFAULT_WINDOW_DAYS} "
        f"days, the pipeline's) on {DEFAULT_CONCURRENCY} workers, into duckdb. Peak RSS "
        "of each process; `python -m bench dlt_peer` runs it (it installs dlt).",
        table(
            [
                "side",
                "seconds",
                "CPU seconds",
                "peak RSS",
                "usage rows",
                "clients with usage",
                "total price",
                "requests",
            ],
            [
                _row("`python -m pipeline run`", ours),
                _row("dlt `rest_api` into duckdb", theirs),
            ],
        ),
        table(
            ["target", "measured", "verdict"],
            [
                _target("faster", faster, FASTER, f" (CPU seconds: {cpu_faster:.2f}x)"),
                _target("less memory", less_memory, LESS_MEMORY),
            ],
        ),
        f"x faster is dlt's seconds over the pipeline's, x less memory dlt's peak RSS over the "
        f"pipeline's. **Same data: {'yes' if same else 'NO'}.** The pipeline's `usage_daily` "
        f"rows of the range against dlt's `usage` table, whose DOUBLE prices are each rounded "
        f"to the API's 4 decimals before the sum: {ours.rows:,} and {theirs.rows:,} rows, "
        f"total price {ours.total_price:f} and {theirs.total_price:f}. The pipeline's Dagster "
        f"runs: {spent} (its usage step's own work {usage.work or 0:.1f} s); the rest of its "
        f"{ours.measured.seconds:.0f} s is start-up and the closing summary.",
    )


def _install_dlt() -> tuple[Path, str]:
    """dlt's Python and dlt's version, installing dlt into its own environment if needed."""
    python = DLT_VENV / "bin" / "python"
    create = [] if python.exists() else [[UV, "venv", "--quiet", "--python", PYTHON, DLT_VENV]]
    steps = [
        *create,
        # Already installed: uv checks the versions and downloads nothing.
        [UV, "pip", "install", "--quiet", "--python", python, DLT, f"duckdb=={version('duckdb')}"],
        [python, "-c", "import dlt.sources.rest_api; print(dlt.__version__)"],
    ]
    try:
        for step in steps:
            done = subprocess.run(step, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as error:
        output = getattr(error, "stderr", None) or str(error)
        raise Skipped(f"dlt cannot be installed into {DLT_VENV}: {output.strip()[-200:]}") from None
    return python, done.stdout.strip()


def _pipeline_side(sim: Simulator, folder: Path, start: date, end: date) -> Side:
    env = pipeline_env(folder, sim.base_url, D360_BALANCE_RATE=UNLIMITED_CLIENT_RATE)
    sim.clear_requests()
    command = pipeline_command("run", "--start", start.isoformat(), "--end", end.isoformat())
    measured = measure(command, env, folder).check()
    con = Warehouse(folder / "warehouse.sqlite").connect(read_only=True)
    try:
        counts = con.execute(
            "SELECT count(*), count(DISTINCT client_id), sum(total_price) FROM usage_daily "
            "WHERE usage_date BETWEEN ? AND ?",
            [start, end],
        ).fetchone()
    finally:
        con.close()
    return Side(measured, *counts, _requests(sim))  # type: ignore[misc]


def _dlt_side(sim: Simulator, folder: Path, python: Path, start: date, end: date) -> Side:
    env = pipeline_env(
        folder,
        sim.base_url,
        RUNTIME__DLTHUB_TELEMETRY="false",
        EXTRACT__WORKERS=DEFAULT_CONCURRENCY,
    )
    script = folder / "dlt_load.py"
    script.write_text(_DLT_SCRIPT, encoding="utf-8")
    windows = [unix_bounds(*window) for window in split_windows(start, end, DEFAULT_WINDOW_DAYS)]
    sim.clear_requests()
    argv = [str(python), str(script), str(folder), json.dumps(windows)]
    measured = measure(argv, env, folder).check()
    with duckdb.connect(str(folder / "dlt.duckdb"), read_only=True) as con:
        counts = con.execute(
            "SELECT count(*), count(DISTINCT _clients_id), sum(total_price::DECIMAL(38, 4)) "
            "FROM partner.usage"
        ).fetchone()
    return Side(measured, *counts, _requests(sim))  # type: ignore[misc]


def _requests(sim: Simulator) -> Counter[str]:
    kinds: Counter[str] = Counter()
    for record in sim.requests:
        if record.path.endswith("/info/balance"):
            kinds[f"{record.query.get('granularity', 'month')} windows"] += 1
        else:
            name = record.path.rsplit("/", 1)[-1]
            kinds[{"balance": "partner balance"}.get(name, f"{name} pages")] += 1
    return kinds


def _row(side: str, s: Side) -> tuple[str, ...]:
    requests = ", ".join(f"{count:,} {kind}" for kind, count in sorted(s.requests.items()))
    return (
        side,
        f"{s.measured.seconds:.1f}",
        f"{s.measured.cpu_seconds:.1f}",
        f"{s.measured.peak_mb:,.0f} MB",
        f"{s.rows:,}",
        f"{s.clients:,}",
        f"{s.total_price:,.2f}",
        requests,
    )


def _target(what: str, measured: float, target: float, beside: str = "") -> tuple[str, str, str]:
    verdict = "met" if measured >= target else "**missed**"
    return f">= {target}x {what} than dlt", f"{measured:.2f}x {what}{beside}", verdict
