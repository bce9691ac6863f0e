"""The daily run (yesterday only) for 10,000 clients, on warehouses holding 30 and 1,095 days.

Measured: wall, CPU, peak RSS and the bytes the run's process wrote to disk, against the lake's
size before the run (a daily run should write about one day of data, not a copy of the lake).

The histories are made without HTTP (bench/history.py: the simulator's answers landed as a run
lands them, then `replay_in_batches`), from a simulator world of WORLD_DAYS days, so the 1,095
days all have usage. Then what the day before's run would have left: the
clients and channels listings loaded over HTTP from the simulator process (a few hundred list
pages), the partner balance, the views, a whole parquet export and the finance report (every
asset of a refresh but usage, in one Dagster run without a day range). The measured run is
`python -m pipeline run --start Y --end Y`, Y = yesterday, in a process of its own. Requests are
the pipeline client's own counts (each asset's `api_requests` metadata).
"""

from __future__ import annotations

import stat
import tempfile
from datetime import timedelta
from pathlib import Path

import dagster as dg

from bench.common import Options, section, table, yesterday
from bench.history import days_before, replayed_history
from bench.processes import (
    LAKE_CATALOG,
    DagsterRun,
    Measured,
    SimulatorProcess,
    all_steps,
    asset_metadata,
    copy_folder,
    dagster_runs,
    job_names,
    lake_bytes,
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
from pipeline.definitions import build_definitions
from pipeline.refresh import QUIET_CONSOLE
from pipeline.usage_load import usage_requests as usage_requests_of
from pipeline.warehouse import Warehouse
from pipeline.warehouse.store import default_data_path

FULL_CLIENTS = 10_000
QUICK_CLIENTS = 300
HISTORIES = (30, 1_095)
"""Days held: a month against three years (issue 16's comparison)."""
WORLD_DAYS = 1_200
"""The simulator's --history-days here (its own default): it must reach back past the longest
history, which the scale benchmarks' HISTORY_DAYS (400) does not."""
SAME = 1.10
"""What "the same" allows on this shared machine: the 1,095-day figure at most 10 % above."""
WRITTEN_SHARE = 0.05
"""Bytes a daily run may write, as a share of the lake it runs on (at the longest history)."""


def _settle(env: dict[str, str]) -> None:
    """What the day before's run leaves beside the history: every asset of a refresh but the
    daily-partitioned ones (usage), in one run without a day range: the listings loaded, the
    partner balance, the views, a whole parquet export, the finance inputs and report. Chosen by
    asset, not by job, so it holds whether a refresh is one job or several. The measured run
    then exports only its own day."""
    defs = build_definitions(env)
    graph = defs.resolve_asset_graph()
    keys = [
        key
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable and graph.get(key).partitions_def is None
    ]
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance,
            run_config=QUIET_CONSOLE,
            asset_selection=keys,
            raise_on_error=True,
        )
    assert result.success


def _table_rows(folder: Path) -> dict[str, int]:
    con = Warehouse(folder / "warehouse.sqlite").connect(read_only=True)
    try:
        return {
            table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in ("usage_daily", "usage_by_category", "channels")
        }
    finally:
        con.close()


def _sizes(folder: Path) -> dict[str, int]:
    """Bytes on disk of the lake, and of each other entry of the pipeline's folder by name
    (raw/, export/ and its versions, reports/, dagster_home/, the catalog's SQLite WAL): where a
    run's written bytes stayed. Each file is counted once by its inode: an export version
    hard-links the files it shares with the previous one, which take no new space."""
    lake = {LAKE_CATALOG, default_data_path(folder / LAKE_CATALOG).name}
    seen: set[tuple[int, int]] = set()

    def unique_bytes(path: Path) -> int:
        total = 0
        for file in path.rglob("*") if path.is_dir() else [path]:
            info = file.lstat()
            if stat.S_ISREG(info.st_mode) and (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_size
        return total

    sizes = {"lake": lake_bytes(folder)}
    for entry in sorted(folder.iterdir()):
        if entry.name not in lake:
            sizes[entry.name] = unique_bytes(entry)
    return sizes


def _daily(sim: SimulatorProcess, clients: int, days: int, folder: Path) -> dict:
    end = yesterday() - timedelta(days=1)
    history = replayed_history(clients, days_before(end, days), end, WORLD_DAYS)
    copy_folder(history.folder, folder)
    env = pipeline_env(folder, sim.base_url)
    _settle(env)
    held = _table_rows(folder)
    sizes = _sizes(folder)
    day = yesterday().isoformat()
    before = sim.cpu_seconds()
    measured = measure(staged_run_command("--start", day, "--end", day), env, folder).check()
    after = _sizes(folder)
    home = folder / "dagster_home"
    requests = {
        asset: int(asset_metadata(home, asset).get("api_requests", 0))  # type: ignore[call-overload]
        for asset in ("clients", "channels", "usage_daily", "partner_balance")
    }
    retries = int(asset_metadata(home, "usage_daily").get("api_retries", 0))  # type: ignore[call-overload]
    return {
        "days": days,
        "size_mb": sizes["lake"] / 1e6,
        "grew": {place: after.get(place, 0) - sizes.get(place, 0) for place in after},
        "held": held,
        "measured": measured,
        "requests": requests,
        "retries": retries,
        "simulator_cpu": sim.cpu_seconds() - before,
        "runs": dagster_runs(home),
        "stages": stages_of(measured),
    }


def run(options: Options | None = None) -> str:
    options = options or Options()
    clients = options.clients or (QUICK_CLIENTS if options.quick else FULL_CLIENTS)
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-daily-") as tmp,
        simulator_process(clients, WORLD_DAYS, Path(tmp)) as sim,
    ):
        for days in HISTORIES:
            results.append(_daily(sim, clients, days, Path(tmp) / f"{days}-days"))
    rows = []
    for r in results:
        m: Measured = r["measured"]
        runs: list[DagsterRun] = r["runs"]
        start, end = usage_step(runs)
        rows.append(
            (
                f"{r['days']:,}",
                f"{r['held']['usage_daily']:,}",
                f"{r['size_mb']:,.0f} MB",
                f"{m.seconds:.1f}",
                f"{m.cpu_seconds:.1f}",
                f"{m.peak_mb:,.0f} MB",
                f"{m.written_bytes / 1e6:,.1f} MB",
                f"{m.written_bytes / 1e6 / r['size_mb']:.1%}",
                _grew(r["grew"]),
                f"{sum(run.seconds for run in runs):.1f}",
                f"{end - start:.1f} ({usage_run(runs).work or 0:.1f})",
                f"{sum(step_seconds(runs).values()) - (end - start):.1f}",
                f"{r['simulator_cpu']:.1f}",
            )
        )
    usage_key = usage_run(results[0]["runs"]).usage_step
    step_rows = []
    for step in all_steps(results[0]["runs"]):
        cells = []
        for r in results:
            start, end = all_steps(r["runs"]).get(step, (float("nan"), float("nan")))
            m = r["measured"]
            cells.append(
                f"{end - start:.1f} s, {m.peak_in(start, end):,.0f} MB, "
                f"{m.written_in(start, end) / 1e6:,.1f} MB written"
            )
        step_rows.append((step, *cells))
        if step == usage_key:  # its stages, timed around their functions in the same run
            for stage in results[0]["stages"]:
                seconds = [r["stages"].get(stage, (float("nan"), 0.0))[0] for r in results]
                step_rows.append((f"- usage: {stage}", *(f"{x:.1f} s" for x in seconds)))
    short, long = results
    pages = short["requests"]["clients"] + short["requests"]["channels"]
    usage_requests = [r["requests"]["usage_daily"] for r in results]
    day = yesterday()
    planned = clients * len(usage_requests_of(day, day, 366, day))
    requests_ok = all(n == planned for n in usage_requests) and not any(
        r["retries"] for r in results
    )
    wall = long["measured"].seconds / short["measured"].seconds
    cpu = long["measured"].cpu_seconds / short["measured"].cpu_seconds
    peak = long["measured"].peak_mb / short["measured"].peak_mb
    same = wall <= SAME and peak <= SAME
    written = long["measured"].written_bytes / 1e6
    share = written / long["size_mb"]
    short_share = short["measured"].written_bytes / 1e6 / short["size_mb"]
    size = f"{clients:,} clients"
    record(
        "daily",
        [
            Target(
                f"daily run (1 day), {size}: requests",
                "clients + list pages",
                f"{usage_requests[0]:,} balance requests + {pages} list pages "
                f"(+ 1 partner balance)",
                requests_ok,
                "",
            ),
            Target(
                f"daily run (1 day), {size}: {long['days']:,} days held against {short['days']}",
                f"wall time and peak RSS <= {SAME - 1:+.0%} each",
                f"wall {wall - 1:+.0%}, CPU {cpu - 1:+.0%}, peak RSS {peak - 1:+.0%} "
                f"({short['measured'].seconds:.0f} s, {short['measured'].peak_mb:,.0f} MB "
                f"-> {long['measured'].seconds:.0f} s, {long['measured'].peak_mb:,.0f} MB)",
                same,
                _growth(results),
            ),
            Target(
                f"daily run (1 day), {size}, {long['days']:,} days held: bytes written, as a "
                "share of the lake (catalog + data files)",
                f"<= {WRITTEN_SHARE:.0%}",
                f"{share:.1%} ({written:,.1f} of {long['size_mb']:,.0f} MB; with "
                f"{short['days']} days held {short_share:.1%} of {short['size_mb']:,.0f} MB)",
                share <= WRITTEN_SHARE,
                _writers(long),
            ),
        ],
        options.results,
    )
    return section(
        "Daily run on a long history",
        f"`python -m pipeline run` of yesterday for {size}, on a warehouse holding the "
        f"{' or '.join(f'{days:,}' for days in HISTORIES)} days before (made from generated raw "
        "answers by `replay_in_batches`, then every other asset of a refresh materialized once "
        "without a day range: the listings, the partner balance, the views, a whole parquet "
        "export, the finance report); the simulator is a process of its own without rate limit, "
        f"its world {WORLD_DAYS:,} days long so that every day held has usage. One run each. "
        "Requests per run: "
        f"{usage_requests[0]:,} balance requests, {pages} list pages, 1 partner balance, "
        f"{sum(r['retries'] for r in results)} retries. The Dagster seconds come from the "
        f"event logs of the refresh's run(s) ({job_names(results[0]['runs'])}): all of them, the "
        "usage step (`usage`) with its usage work in brackets (the step's own fetch, "
        "transform and batch commits into the lake, its `duration_seconds`), the other steps. "
        "The lake's size on disk is its SQLite catalog and its data files, before the run. "
        "Bytes written are the run process's `write_bytes` (Linux /proc/<pid>/io: what it sent "
        "towards the disk, whichever file: the lake, landing files, exports, the report, the "
        "Dagster instance's own SQLite files), start to exit; their share is of the lake before "
        "the run. What stayed on disk is how much each entry of the pipeline's folder grew "
        "(the lake, raw/ landing files, export/, reports/, dagster_home/, the catalog's "
        "SQLite WAL).",
        table(
            [
                "days held",
                "usage_daily rows held",
                "lake on disk",
                "seconds",
                "CPU seconds",
                "peak RSS",
                "bytes written",
                "of the lake",
                "what stayed on disk",
                "Dagster run(s) (s)",
                "usage step (s) (usage work)",
                "other steps (s)",
                "simulator CPU seconds",
            ],
            rows,
        ),
        "The Dagster steps of the same two runs: seconds from start to end of each step, the "
        "peak resident size and the bytes written sampled while it ran (every 50 ms, so a "
        "step shorter than that may show its bytes in the next). Every step that writes the "
        "warehouse (the listings' loads, the usage step's batch commits, the partner balance, "
        "the views, the finance inputs) commits its own transactions into the lake: each "
        "commit writes new parquet files for the rows it adds and rows into the SQLite "
        "catalog (a snapshot), and rewrites no file already there:",
        table(["step", *(f"{days:,} days held" for days in HISTORIES)], step_rows),
    )


def _grew(grew: dict[str, int]) -> str:
    """What stayed on disk after a run, place by place, largest first."""
    parts = sorted(((size, place) for place, size in grew.items() if size), reverse=True)
    return ", ".join(f"{place} {size / 1e6:+,.1f} MB" for size, place in parts) or "nothing"


def _writers(result: dict) -> str:
    """Where a run's written bytes went: the steps that wrote most, and what stayed on disk."""
    m: Measured = result["measured"]
    steps = sorted(
        (
            (m.written_in(start, end), step)
            for step, (start, end) in all_steps(result["runs"]).items()
        ),
        reverse=True,
    )
    inside = sum(size for size, _ in steps)
    wrote = ", ".join(f"{step} {size / 1e6:,.1f} MB" for size, step in steps[:3])
    return (
        f"wrote most: {wrote}; outside the Dagster steps (start-up, run records, summary) "
        f"{(m.written_bytes - inside) / 1e6:,.1f} MB; stayed on disk: {_grew(result['grew'])}"
    )


def _growth(results: list[dict]) -> str:
    """The Dagster steps that took longest to grow from the first history to the last."""
    short, long = (step_seconds(r["runs"]) for r in results)
    grew = sorted(
        ((long.get(step, 0.0) - seconds, step) for step, seconds in short.items()), reverse=True
    )
    peaks = []
    for r in results:
        spans = [
            (r["measured"].peak_in(start, end), step)
            for step, (start, end) in all_steps(r["runs"]).items()
        ]
        peak, step = max(spans, default=(0.0, "?"))
        peaks.append(f"{peak:,.0f} MB in {step} with {r['days']:,} days held")
    grown = ", ".join(f"{name} {extra:+.1f} s" for extra, name in grew[:3])
    return f"grew most: {grown}; peak RSS: {'; '.join(peaks)}"
