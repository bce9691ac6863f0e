"""Runs of `python -m pipeline run` killed with SIGKILL and resumed, on any kind of lake: the
simulator they fetch from, the subprocess and what it did, the invariants a killed run must leave,
the tables and exports to compare with a clean run, and an analyst holding a read-only
transaction open all along (in the test's process, the runs in others). Shared by the SQLite +
folder test (test_kill_and_resume.py) and the Postgres + S3 one (test_team_lake.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

import duckdb
import pytest
from end_to_end.stack import YESTERDAY, stack_env

from pipeline import clock
from pipeline.settings import Settings
from pipeline.simulator import Simulator, SimulatorOptions, run_simulator
from pipeline.warehouse import Warehouse

CLIENTS = 20
BATCH = 4
# Old enough that every day is final: the simulator revises its recent days (estimates).
END = YESTERDAY - timedelta(days=12)
START = END - timedelta(days=59)
DAYS = (END - START).days + 1
TIMEOUT = 300.0  # per subprocess; generous, nothing here asserts on time
POLL = 0.002

# The tables a resumed run must end equal to a clean run in; when each row was fetched differs
# by design, so that column is left out.
COMPARED = ("usage_daily", "usage_by_category", "usage_coverage", "usage_monthly_api")
PARTITIONED = ("usage_daily", "usage_by_category", "usage_coverage")
KEYS = {
    "usage_daily": "client_id, usage_date",
    "usage_by_category": "client_id, usage_date, category",
    "usage_coverage": "client_id, usage_date",
    "usage_monthly_api": "client_id, month, currency",
}


def killable_simulator() -> AbstractContextManager[Simulator]:
    """The simulator the runs fetch from. No rate limit and a little latency: fetching 20
    clients takes a couple of seconds, long enough to kill a run in the middle of it."""
    options = SimulatorOptions(
        seed=8,
        clients=CLIENTS,
        history_days=120,
        balance_rate=None,
        latency_seconds=0.02,
        today=clock.today(),
    )
    return run_simulator(options)


def pipeline_env(sim: object, folder: Path, **lake: str) -> dict[str, str]:
    """A whole environment for `python -m pipeline` writing under `folder` (nothing inherited);
    `lake` settings (PIPELINE_WAREHOUSE, ...) instead of a SQLite catalog in it."""
    (folder / "dagster_home").mkdir(parents=True)
    return {
        **stack_env(sim, folder, **lake),
        "PIPELINE_START_DATE": START.isoformat(),
        "PIPELINE_WINDOW_DAYS": "31",
        "PIPELINE_BATCH_CLIENTS": str(BATCH),
        "D360_BALANCE_RATE": "1000/1",
        "PIPELINE_REPORT_DIR": str(folder / "reports"),
        "PATH": os.environ["PATH"],
        "HOME": str(folder),
        "DAGSTER_HOME": str(folder / "dagster_home"),
    }


def lake_of(env: dict[str, str]) -> Warehouse:
    """The lake a pipeline with `env` writes to, as the test's own process reaches it."""
    return Settings.from_env(env).lake()


def balance_requests(sim: object, first: int = 0, last: int | None = None) -> list:
    return [r for r in sim.requests[first:last] if r.path.endswith("/info/balance")]


def settle(sim: object) -> None:
    """Wait until the simulator has logged the answers still in flight when a run died."""
    count = -1
    while count != len(sim.requests):
        count = len(sim.requests)
        time.sleep(0.05)


@dataclass
class Run:
    """One `python -m pipeline run` subprocess, as it went."""

    sim: object
    first_request: int
    started_at: datetime = field(default_factory=clock.now)
    last_request: int | None = None  # set when the run is over
    lines: list[str] = field(default_factory=list)  # stderr, as it comes
    stdout: list[str] = field(default_factory=list)
    returncode: int | None = None
    killed: bool = False

    def __str__(self) -> str:
        output = "\n".join([*self.lines, *self.stdout])
        return f"exit {self.returncode}, killed by the test: {self.killed}\n{output}"

    def saw(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def balance_requests(self) -> list:
        return balance_requests(self.sim, self.first_request, self.last_request)

    def balance_clients(self) -> set[str]:
        return {r.client_id for r in self.balance_requests()}

    def batching(self) -> bool:
        """Fetching and saving batches (or past them), not over yet."""
        return self.returncode is None and self.saw("balance windows fetched")


def run_pipeline(
    sim: object,
    env: dict[str, str],
    *args: str,
    kill_when: Callable[[Run], bool] | None = None,
    watcher: Analyst | None = None,
) -> Run:
    """Run `python -m pipeline run` over the range; SIGKILL it (its whole process group, as a
    power loss would) as soon as `kill_when` holds, checked every couple of milliseconds."""
    settle(sim)
    run = Run(sim, len(sim.requests))
    if watcher is not None:
        watcher.runs.append(run)
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", "--start", str(START), "--end", str(END), *args],
        env=env,
        cwd=env["HOME"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )

    def read(stream: IO[str], lines: list[str]) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))

    readers = [
        threading.Thread(target=read, args=(process.stderr, run.lines), daemon=True),
        threading.Thread(target=read, args=(process.stdout, run.stdout), daemon=True),
    ]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + TIMEOUT
    try:
        while process.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail(f"the run still goes after {TIMEOUT:.0f}s:\n{run}")
            if kill_when is not None and kill_when(run):
                os.killpg(process.pid, signal.SIGKILL)
                run.killed = True
                break
            time.sleep(POLL)
        run.returncode = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    for reader in readers:
        reader.join(timeout=10)
    process.stdout.close()
    process.stderr.close()
    settle(sim)
    run.last_request = len(sim.requests)
    return run


def check_warehouse(wh: Warehouse, since: datetime) -> int:
    """The invariants any run, killed or not, must leave; returns how many clients have the
    range from the load that began at `since` (the others still have it from the load before)."""
    with wh.read() as con:  # DuckDB, read-only
        for table, key in KEYS.items():
            duplicates = con.execute(
                f"SELECT count(*) FROM (SELECT {key} FROM {table} GROUP BY ALL HAVING count(*) > 1)"
            ).fetchone()
            assert duplicates == (0,), f"duplicate keys in {table}"
        for table in ("usage_daily", "usage_by_category"):
            # Every row's client-day is covered, by the same load as the row.
            mixed = con.execute(
                f"SELECT count(*) FROM {table} AS t LEFT JOIN usage_coverage AS c "
                "USING (client_id, usage_date) "
                "WHERE c.fetched_at IS NULL OR (t.fetched_at > $1) != (c.fetched_at > $1)",
                [since],
            ).fetchone()
            assert mixed == (0,), f"{table} has client-days usage_coverage lacks or disowns"
        per_client = con.execute(
            "SELECT count(*), count(*) FILTER (fetched_at > ?) FROM usage_coverage "
            "WHERE usage_date BETWEEN ? AND ? GROUP BY client_id",
            [since, START, END],
        ).fetchall()
    assert len(per_client) == CLIENTS
    assert all(days == DAYS for days, _ in per_client), "a client lost days of the range"
    assert all(new in (0, DAYS) for _, new in per_client), "a client has part of the new load"
    return sum(1 for _, new in per_client if new)


def saved_clients(wh: Warehouse) -> set[str]:
    """The clients the unfinished load's batches committed, as the warehouse itself lists them
    (what `--resume` reads); each has every day of the range from the new load."""
    with wh.read() as con:
        saved = {
            c
            for (c,) in con.execute(
                "SELECT client_id FROM usage_load_clients JOIN usage_loads USING (load_id) "
                "WHERE finished_at IS NULL"
            ).fetchall()
        }
    return saved


def tables_of(wh: Warehouse) -> dict[str, list[tuple]]:
    with wh.read() as con:
        return {
            table: con.execute(
                f"SELECT * EXCLUDE (fetched_at) FROM {table} ORDER BY ALL"
            ).fetchall()
            for table in COMPARED
        }


def exports_of(env: dict[str, str]) -> dict[str, tuple[list[tuple], list[tuple]]]:
    """Per exported table: its column names and types, and its rows, read back from parquet (in
    a folder or on S3: the lake's connection has the S3 settings)."""
    export_dir = env["PIPELINE_EXPORT_DIR"].rstrip("/")
    exports = {}
    with lake_of(env).read() as con:
        for table in COMPARED:
            if table in PARTITIONED:
                source = f"read_parquet('{export_dir}/{table}/*/*.parquet')"
            else:
                source = f"read_parquet('{export_dir}/{table}/{table}.parquet')"
            query = f"SELECT * EXCLUDE (fetched_at) FROM {source}"
            types = [row[:2] for row in con.execute(f"DESCRIBE {query}").fetchall()]
            exports[table] = (types, con.execute(f"{query} ORDER BY ALL").fetchall())
    return exports


def usage_state(con: duckdb.DuckDBPyConnection, since: datetime) -> tuple[int, ...]:
    """What a usage load changes: coverage rows (all, and fetched after `since`), usage rows,
    balance snapshots and fetch log rows."""
    row = con.execute(
        """
        SELECT (SELECT count(*) FROM usage_coverage),
               (SELECT count(*) FROM usage_coverage WHERE fetched_at > ?),
               (SELECT count(*) FROM usage_daily),
               (SELECT count(*) FROM usage_by_category),
               (SELECT count(*) FROM balance_snapshots),
               (SELECT count(*) FROM raw_balance_fetches)
        """,
        [since],
    ).fetchone()
    return tuple(row)


class Analyst:
    """A read-only transaction opened on the warehouse before the load and held until after it
    (the runs are other processes), queried every 0.1 s from a thread, each time next to a
    connection opened just then."""

    def __init__(self, wh: Warehouse, since: datetime) -> None:
        self.wh = wh
        self.since = since
        self.held = wh.connect(read_only=True)
        self.held.execute("BEGIN TRANSACTION")
        self.before = usage_state(self.held, since)
        self.held_states: list[tuple[int, ...]] = []
        # (which run was going, whether it was fetching and saving batches, what a new
        # connection saw)
        self.new_states: list[tuple[int, bool, tuple[int, ...]]] = []
        self.runs: list[Run] = []
        self.error: BaseException | None = None  # a query that failed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Analyst:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        try:
            if self.error is not None:
                raise AssertionError("the analyst's queries failed during the load") from self.error
            self.held_states.append(usage_state(self.held, self.since))
            # Its next transaction sees what the runs committed.
            self.held.execute("COMMIT")
            self.next_state = usage_state(self.held, self.since)
        finally:
            self.held.close()

    def _watch(self) -> None:
        try:
            self._look()
        except BaseException as error:  # re-raised in the test's thread
            self.error = error

    def _look(self) -> None:
        while not self._stop.is_set():
            self.held_states.append(usage_state(self.held, self.since))
            run = self.runs[-1] if self.runs else None
            batching = run is not None and run.batching()
            with self.wh.read() as con:
                state = usage_state(con, self.since)
            batching = batching and run.batching()
            self.new_states.append((len(self.runs), batching, state))
            self._stop.wait(0.1)


@dataclass(frozen=True)
class Clean:
    """What an uninterrupted run of the range left in a lake of its own."""

    tables: dict[str, list[tuple]]
    exports: dict[str, tuple[list[tuple], list[tuple]]]
    balance_requests: int

    @classmethod
    def of(cls, sim: object, env: dict[str, str], first_request: int) -> Clean:
        """The lake and exports of `env` after a clean run that began at `first_request`."""
        tables = tables_of(lake_of(env))
        assert len(tables["usage_coverage"]) == CLIENTS * DAYS
        assert tables["usage_daily"] and tables["usage_by_category"]
        assert tables["usage_monthly_api"]
        requests = len(balance_requests(sim, first_request))
        assert requests > 0 and requests % CLIENTS == 0  # the same plan for every client
        return cls(tables, exports_of(env), requests)


def check_resumed_to_clean(
    env: dict[str, str], clean: Clean, analyst: Analyst, runs: int
) -> tuple[int, ...]:
    """After the last `--resume` of a reload (`runs` runs in all, killed ones included, watched
    by `analyst`): the lake and exports equal the clean run's, what the lost batches fetched was
    not logged, and the analyst kept its snapshot throughout and saw each batch land whole.
    Returns the lake's usage state."""
    wh = lake_of(env)
    since, before = analyst.since, analyst.before
    assert check_warehouse(wh, since) == CLIENTS
    assert saved_clients(wh) == set()  # the load finished: a later --resume starts anew
    assert tables_of(wh) == clean.tables
    assert exports_of(env) == clean.exports
    with wh.read() as con:
        after = usage_state(con, since)
    # One fetch row per planned request: what the lost batches fetched was not logged.
    assert after == (
        CLIENTS * DAYS,
        CLIENTS * DAYS,
        before[2],
        before[3],
        2 * before[4],
        before[5] + clean.balance_requests,
    )

    # The analyst's transaction kept its snapshot through the kills and every batch commit,
    # queried during every run, and its next transaction saw the whole load.
    assert {run for run, _, _ in analyst.new_states} >= set(range(1, runs + 1))
    assert set(analyst.held_states) == {before}
    assert analyst.next_state == after
    # New connections saw batches land one by one, each whole: coverage never lost a day, and
    # the clients with the new load grew by whole clients (every day of the range at once).
    new_coverage = [state[1] for _, _, state in analyst.new_states]
    assert all(state[0] == CLIENTS * DAYS for _, _, state in analyst.new_states)
    assert all(count % DAYS == 0 for count in new_coverage)
    assert new_coverage == sorted(new_coverage)
    assert new_coverage[-1] == CLIENTS * DAYS
    assert any(batching for _, batching, _ in analyst.new_states)
    return after
