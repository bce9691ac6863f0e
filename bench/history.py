"""A usage history made without HTTP: the simulator's own answers, landed the way a run lands them.

The bodies come from the simulator's generator in this process (the same seed, client count and
history as a `python -m pipeline simulator` process, so the same clients and figures). Each batch
of clients is landed through `RawLanding.land` into a parquet landing file, and its fetch-log
rows are committed into the lake's raw_balance_fetches by `UsageLoad.commit_batch`, one
transaction (snapshot) a batch, as a run commits them. The usage tables are then built by
`replay_in_batches` (bench/replay.py, bench/daily.py).

Optionally the same bodies are also written as newline-delimited JSON, one answer a line
(`{"client_id": ..., "fetched_at": ..., "body": <the body as received>}`), for DuckDB's own
`read_json`.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from bench.processes import PYTHON, SEED, Measured, measure, pipeline_env
from pipeline.partner_api import BalanceWindow
from pipeline.simulator import SimulatorOptions
from pipeline.simulator.balance import BalanceQuery, balance_json
from pipeline.simulator.runtime import Runtime
from pipeline.transform import raw_answers_frame
from pipeline.warehouse import REQUEST_KEY, RawLanding, UsageLoad, Warehouse, coverage_frame

HISTORY_DAYS = 400
"""The simulator's --history-days in the scale benchmarks (one world for all of them); a history
held longer than this needs a world of its own (see `replayed_history`): before the world's first
day the simulator has no usage, so the extra days would be empty."""
BATCH = 200
"""Clients per landing file: the pipeline's default PIPELINE_BATCH_CLIENTS."""


@dataclass(frozen=True)
class History:
    folder: Path
    """Holds the lake (catalog warehouse.sqlite, data files in warehouse.files/) with the fetch
    log only (raw_balance_fetches, and the load that committed it), and raw/ (the landing
    files)."""
    clients: int
    start: date
    end: date
    answers: int
    json_bytes: int
    landed_bytes: int
    generate_seconds: float
    """CPU seconds the simulator's generator took for the bodies."""
    ndjson: Path | None


def simulator_runtime(clients: int, seed: int = SEED, history_days: int = HISTORY_DAYS) -> Runtime:
    """The world a `python -m pipeline simulator --clients N --history-days D` process serves."""
    options = SimulatorOptions(
        seed=seed, clients=clients, history_days=history_days, balance_rate=None
    )
    return Runtime.create(options)


def client_ids(runtime: Runtime) -> list[str]:
    return sorted(runtime.world.clients)


def build_history(
    folder: Path,
    clients: int,
    start: date,
    end: date,
    *,
    ndjson: bool = False,
    history_days: int = HISTORY_DAYS,
) -> History:
    """One day-granularity answer of [start, end] per client, landed and logged in `folder`, from
    the world of a simulator started with `--history-days history_days`."""
    runtime = simulator_runtime(clients, history_days=history_days)
    ids = client_ids(runtime)
    wh = Warehouse(folder / "warehouse.sqlite")
    landing = RawLanding(folder / "raw")
    query = BalanceQuery(start, end, "day", None)
    fetched_at = datetime.now(UTC)
    json_path = folder / "answers.ndjson" if ndjson else None
    out = json_path.open("wb") if json_path else None
    load = UsageLoad.open(wh, "run", start, end, resume=False)
    json_bytes = 0
    generating = 0.0
    try:
        for first in range(0, len(ids), BATCH):
            batch = ids[first : first + BATCH]
            began = time.process_time()
            windows = [
                BalanceWindow(
                    client_id=cid,
                    start=start,
                    end=end,
                    granularity="day",
                    content=balance_json(runtime.client(cid), runtime.usage, query, False),
                    fetched_at=fetched_at,
                )
                for cid in batch
            ]
            generating += time.process_time() - began
            raw = raw_answers_frame(windows)
            fetches = landing.land(raw, _nothing_stored(raw))
            _log_fetches(wh, load, first // BATCH + 1, batch, fetches)
            json_bytes += sum(len(w.content) for w in windows)
            if out:
                stamp = fetched_at.isoformat()
                for w in windows:
                    head = f'{{"client_id":"{w.client_id}","fetched_at":"{stamp}","body":'
                    out.write(head.encode())
                    out.write(w.content)
                    out.write(b"}\n")
    finally:
        if out:
            out.close()
    load.finish(wh)
    landed = sum(p.stat().st_size for p in (folder / "raw").rglob("*.parquet"))
    return History(folder, clients, start, end, len(ids), json_bytes, landed, generating, json_path)


def _nothing_stored(raw: pl.DataFrame) -> pl.DataFrame:
    return raw.head(0).select(*REQUEST_KEY, "body_sha256", body_file=pl.lit(None, pl.String))


def _log_fetches(
    wh: Warehouse, load: UsageLoad, batch: int, ids: Sequence[str], fetches: pl.DataFrame
) -> None:
    """A batch's fetch-log rows committed into the lake in one transaction, through the call a
    run commits its batches with. The batch covers no day: the usage tables stay empty until
    `replay_in_batches` builds them from the log."""
    covered = coverage_frame([], load.start, load.end, datetime.now(UTC))
    load.commit_batch(wh, batch, ids, {"usage_coverage": covered, "raw_balance_fetches": fetches})


def days_before(end: date, days: int) -> date:
    """The first day of the `days` days ending with `end`."""
    return end - timedelta(days=days - 1)


_REPLAY = """
import json, sys, time
began = time.perf_counter()
from datetime import date
import pipeline.usage_load.batches as batches
from pipeline.settings import Settings, read_environment
from pipeline.warehouse import RawLanding, UsageLoad, Warehouse

STAGES = {}

def timed(owner, name, label):
    inner = getattr(owner, name)
    def wrapper(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            spent = STAGES.setdefault(label, [0.0, 0.0])
            spent[0] += time.perf_counter() - wall
            spent[1] += time.process_time() - cpu
    setattr(owner, name, wrapper)

timed(batches, "replay_fetches", "read the fetch log")
timed(RawLanding, "read_back", "read landing files")
timed(batches, "_answers", "bodies to answer objects")
timed(batches, "batch_frames", "transform (batch_frames)")
timed(UsageLoad, "commit_batch", "commit batch into the lake")

def report(line):
    print(line, file=sys.stderr, flush=True)

STAGES["start-up (imports)"] = [time.perf_counter() - began, time.process_time()]
settings = Settings.from_env(read_environment())
start, end = (date.fromisoformat(day) for day in sys.argv[1:3])
wall, cpu = time.perf_counter(), time.process_time()
run = batches.replay_in_batches(
    settings, Warehouse(settings.warehouse), start, end, resume=False, report=report
)
STAGES["total"] = [time.perf_counter() - wall, time.process_time() - cpu]
print(json.dumps({"batches": run.batches, "rows": run.rows, "failures": len(run.failures),
                  "stages": STAGES}))
"""


def replay(history: History, **settings: object) -> Measured:
    """`replay_in_batches` over the history's range in a process of its own, measured."""
    env = pipeline_env(history.folder, **settings)
    command = [PYTHON, "-c", _REPLAY, history.start.isoformat(), history.end.isoformat()]
    return measure(command, env, history.folder).check()


def replay_stages(measured: Measured) -> dict[str, tuple[float, float]]:
    """(wall, CPU) seconds of each stage of a `replay` measurement; "total" is the replay's."""
    facts = json.loads(measured.stdout.strip().splitlines()[-1])
    return {stage: (wall, cpu) for stage, (wall, cpu) in facts["stages"].items()}


_SHARED = tempfile.TemporaryDirectory(prefix="bench-history-")
_REPLAYED: dict[tuple[int, date, date, int], History] = {}


def shared_folder(name: str) -> Path:
    """A folder that lives as long as this process (histories are shared by benchmarks)."""
    path = Path(_SHARED.name) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def remember_replayed(history: History) -> None:
    _REPLAYED[history.clients, history.start, history.end, HISTORY_DAYS] = history


def replayed_history(
    clients: int, start: date, end: date, history_days: int = HISTORY_DAYS
) -> History:
    """A history of [start, end] already replayed into its warehouse: the one another benchmark
    of this process made, else a new one. `history_days` is the simulator world's (it must
    reach back to `start`, and the simulator process the history is used with must be started
    with the same, or its clients differ)."""
    key = (clients, start, end, history_days)
    if key not in _REPLAYED:
        folder = shared_folder(f"{clients}-{start}-{end}-world{history_days}")
        history = build_history(folder, clients, start, end, history_days=history_days)
        replay(history)
        _REPLAYED[key] = history
    return _REPLAYED[key]
