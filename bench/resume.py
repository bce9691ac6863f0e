"""A year's backfill killed with SIGKILL at ~70 % of its balance windows, then `--resume`d.

150 clients, 365 days in 31-day windows (PIPELINE_WINDOW_DAYS=31: a day window a month, plus
the ended months' figures), the simulator in a process of its own without rate limit and the
client's own limiter lifted (D360_BALANCE_RATE=10000/1). The
range ends 12 days before yesterday, so no day in it is still an estimate the simulator revises.
`python -m pipeline run` is killed as soon as its progress line says 70 % of the windows are
fetched; `run --resume` then finishes the range. Windows fetched again: the resumed run's planned
windows (its progress lines' total) over the clean run's. Tables compared with a clean run of the
same range: every row equal, leaving out only when each was fetched.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import duckdb

from bench.common import Options, section, table, yesterday
from bench.history import HISTORY_DAYS
from bench.processes import (
    SimulatorProcess,
    asset_metadata,
    measure,
    pipeline_command,
    pipeline_env,
    simulator_process,
)
from bench.targets import Target, record
from pipeline.settings import Settings
from pipeline.warehouse import Warehouse
from pipeline.warehouse.extensions import UNVERIFIED_LOAD, load_extensions
from pipeline.warehouse.sql_text import quoted

FULL_CLIENTS = 150
QUICK_CLIENTS = 30
DAYS = 365
QUICK_DAYS = 90
WINDOW_DAYS = 31
KILL_AT = 0.7
REFETCH_LIMIT = 0.6
CLIENT_RATE = "10000/1"
SMALL_BATCH = {FULL_CLIENTS: 25, QUICK_CLIENTS: 5}
"""A batch size below the client count, measured beside the default."""
# table -> columns left out of the comparison (when the row was fetched or observed, and the
# landing file a body went to: both differ from one run to the next by design).
COMPARED = {
    "usage_daily": ("fetched_at",),
    "usage_by_category": ("fetched_at",),
    "usage_coverage": ("fetched_at",),
    "usage_monthly_api": ("fetched_at",),
    "balance_snapshots": ("observed_at",),
    "raw_balance_fetches": ("fetched_at", "body_file"),
}
_PROGRESS = re.compile(r"usage: (\d+)/(\d+) balance windows fetched")
_RESUMING = re.compile(r"usage: resuming, (\d+) clients")


def _range(days: int) -> tuple[str, str]:
    end = yesterday() - timedelta(days=12)
    return (end - timedelta(days=days - 1)).isoformat(), end.isoformat()


def _env(sim: SimulatorProcess, folder: Path, batch: int) -> dict[str, str]:
    return pipeline_env(
        folder,
        sim.base_url,
        PIPELINE_WINDOW_DAYS=WINDOW_DAYS,
        PIPELINE_BATCH_CLIENTS=batch,
        # The client's own per-client limiter (5 per 30 s by default) would hold each client to
        # one request every 6 s: 24 requests a client, a batch of 25 clients took minutes.
        D360_BALANCE_RATE=CLIENT_RATE,
    )


def _windows(lines: list[tuple[float, str]]) -> tuple[int, int]:
    """(fetched, planned) of the last progress line."""
    found = [_PROGRESS.search(line) for _, line in lines]
    last = [match for match in found if match]
    return (int(last[-1][1]), int(last[-1][2])) if last else (0, 0)


def _killed_run(env: dict[str, str], folder: Path, days: int) -> dict[str, object]:
    """Start a run, SIGKILL it at the progress line that reaches KILL_AT."""
    start, end = _range(days)
    proc = subprocess.Popen(
        pipeline_command("run", "--start", start, "--end", end),
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    killed_at = (0, 0)
    for line in proc.stderr:  # type: ignore[union-attr]
        lines.append(line)
        match = _PROGRESS.search(line)
        if match and int(match[1]) >= KILL_AT * int(match[2]):
            os.kill(proc.pid, signal.SIGKILL)
            killed_at = (int(match[1]), int(match[2]))
            break
    proc.wait()
    if killed_at == (0, 0):
        raise RuntimeError(f"the run ended before {KILL_AT:.0%}:\n{''.join(lines[-10:])}")
    saved = sum("usage: batch" in line for line in lines)
    return {"killed_at": killed_at, "batches_saved": saved}


def _differences(clean: Path, resumed: Path) -> dict[str, tuple[int, int, int]]:
    """Per table: rows in the clean run, rows in the resumed one, rows in only one of them.
    Both are lakes (a SQLite catalog and its data files), attached read-only side by side."""
    con = duckdb.connect(config=UNVERIFIED_LOAD)
    load_extensions(con, Warehouse(clean / "warehouse.sqlite").extensions())
    for name, folder in (("clean", clean), ("resumed", resumed)):
        lake = quoted(f"ducklake:sqlite:{folder / 'warehouse.sqlite'}")
        con.execute(f"ATTACH {lake} AS {name} (READ_ONLY)")
    found = {}
    for name, left_out in COMPARED.items():
        columns = f"* EXCLUDE ({', '.join(left_out)})"
        a = f"SELECT {columns} FROM clean.{name}"
        b = f"SELECT {columns} FROM resumed.{name}"
        count = con.execute(
            f"SELECT (SELECT count(*) FROM clean.{name}), (SELECT count(*) FROM resumed.{name}), "
            f"(SELECT count(*) FROM ({a} EXCEPT ALL {b})) + "
            f"(SELECT count(*) FROM ({b} EXCEPT ALL {a}))"
        ).fetchone()
        found[name] = tuple(count)  # type: ignore[arg-type]
    con.close()
    return found


def run(options: Options | None = None) -> str:
    options = options or Options()
    clients = QUICK_CLIENTS if options.quick else FULL_CLIENTS
    default_batch = Settings.model_fields["batch_clients"].default
    batches = (default_batch, SMALL_BATCH[clients])
    days = QUICK_DAYS if options.quick else DAYS
    start, end = _range(days)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-resume-") as tmp:
        root = Path(tmp)
        with simulator_process(clients, HISTORY_DAYS, root) as sim:
            clean_env = _env(sim, root / "clean", default_batch)
            command = pipeline_command("run", "--start", start, "--end", end)
            clean = measure(command, clean_env, root).check()
            _, planned = _windows(clean.lines)
            for batch in batches:
                folder = root / f"batch-{batch}"
                env = _env(sim, folder, batch)
                began = time.perf_counter()
                killed = _killed_run(env, folder, days)
                resumed = measure([*command, "--resume"], env, folder).check()
                seconds = time.perf_counter() - began
                resumed_clients = [
                    int(m[1]) for _, line in resumed.lines if (m := _RESUMING.search(line))
                ]
                meta = asset_metadata(folder / "dagster_home", "usage_daily")
                results.append(
                    {
                        "batch": batch,
                        **killed,
                        "saved_clients": resumed_clients[0] if resumed_clients else 0,
                        "refetched": _windows(resumed.lines)[1],
                        "requests": meta.get("api_requests"),
                        "seconds": seconds,
                        "differences": _differences(root / "clean", folder),
                    }
                )
    rows = []
    for r in results:
        diff = r["differences"]
        unequal = {name: d for name, d in diff.items() if d[0] != d[1] or d[2]}
        r["equal"] = not unequal
        r["fraction"] = r["refetched"] / planned
        rows.append(
            (
                r["batch"],
                f"{r['killed_at'][0]:,}/{r['killed_at'][1]:,}",
                r["batches_saved"],
                f"{r['saved_clients']}/{clients}",
                f"{r['refetched']:,} ({r['fraction']:.0%})",
                f"{r['requests']:,}" if r["requests"] is not None else "?",
                "yes" if r["equal"] else f"NO: {unequal}",
            )
        )
    compared = ", ".join(
        f"{name} ({results[0]['differences'][name][0]:,} rows)" for name in COMPARED
    )
    default, small = results
    record(
        "resume",
        [
            Target(
                f"{clients}-client {days}-day backfill ({WINDOW_DAYS}-day windows) killed at "
                f"~{KILL_AT:.0%}, then `--resume` (default batch of {r['batch']} clients)"
                if r is default
                else f"the same with PIPELINE_BATCH_CLIENTS={r['batch']}",
                f"windows fetched again <= {REFETCH_LIMIT:.0%}; tables equal to a clean run",
                f"{r['fraction']:.0%} fetched again; tables "
                f"{'equal' if r['equal'] else 'DIFFERENT'}",
                r["fraction"] <= REFETCH_LIMIT and r["equal"],
                (
                    f"{r['batches_saved']} batch(es) saved before the kill: with batches of "
                    f"{r['batch']} clients and {clients} clients, everything fetched before a "
                    "kill is in the one batch in flight"
                    if r["batches_saved"] == 0
                    else ""
                ),
            )
            for r in (default, small)
        ],
        options.results,
    )
    return section(
        "Killed and resumed",
        f"{clients} clients, {start} .. {end} in {WINDOW_DAYS}-day windows, no rate limit on "
        f"either side (D360_BALANCE_RATE={CLIENT_RATE}): a clean run plans "
        f"{planned:,} balance windows ({clean.seconds:.0f} s). A run killed with SIGKILL at the "
        f"progress line reaching {KILL_AT:.0%}, then `run --resume`, for two batch sizes "
        "(PIPELINE_BATCH_CLIENTS). Compared with the clean run, every row, leaving out when "
        f"it was fetched: {compared}.",
        table(
            [
                "batch (clients)",
                "killed at (windows)",
                "batches saved before the kill",
                "clients saved",
                "windows fetched again",
                "requests of the resumed run",
                "equal to the clean run",
            ],
            rows,
        ),
    )
