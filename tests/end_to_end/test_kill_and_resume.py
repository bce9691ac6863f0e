"""`python -m pipeline run` killed with SIGKILL mid-fetch and between batches loses at most the
batch in flight: the warehouse (a DuckLake) opens read-only, with no duplicate key, no partial
client-day, every committed batch there and every other client's days as they were; `run
--resume` then ends equal to a clean run of the range (tables and parquet exports) without
fetching again what the killed runs committed. An analyst in another process, holding a
read-only transaction open all along, neither fails the load nor sees any of it: it keeps its
snapshot while batches commit, and its next transaction sees the new data. Connections opened
meanwhile see each batch whole or not at all.

The runs reload a range loaded before (as a re-run after revised figures would), so a half-
committed batch would show as a client, or a client-day, mixing the old load and the new.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

import duckdb
import pytest
from end_to_end.stack import YESTERDAY, Stack, stack_env

from pipeline import clock
from pipeline.simulator import SimulatorOptions, run_simulator
from pipeline.warehouse import Warehouse

pytestmark = pytest.mark.timeout(600)  # five real runs: minutes on a busy machine

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


@pytest.fixture(scope="module")
def sim() -> Iterator[object]:
    # No rate limit and a little latency: fetching 20 clients takes a couple of seconds, long
    # enough to kill a run in the middle of it.
    options = SimulatorOptions(
        seed=8,
        clients=CLIENTS,
        history_days=120,
        balance_rate=None,
        latency_seconds=0.02,
        today=clock.today(),
    )
    with run_simulator(options) as simulator:
        yield simulator


def pipeline_env(sim: object, folder: Path) -> dict[str, str]:
    """A whole environment for `python -m pipeline` writing under `folder` (nothing inherited)."""
    (folder / "dagster_home").mkdir(parents=True)
    return {
        **stack_env(sim, folder),
        "PIPELINE_START_DATE": START.isoformat(),
        "PIPELINE_WINDOW_DAYS": "31",
        "PIPELINE_BATCH_CLIENTS": str(BATCH),
        "D360_BALANCE_RATE": "1000/1",
        "PIPELINE_REPORT_DIR": str(folder / "reports"),
        "PATH": os.environ["PATH"],
        "HOME": str(folder),
        "DAGSTER_HOME": str(folder / "dagster_home"),
    }


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


def check_warehouse(warehouse: Path, since: datetime) -> int:
    """The invariants any run, killed or not, must leave; returns how many clients have the
    range from the load that began at `since` (the others still have it from the load before)."""
    with Warehouse(warehouse).read() as con:  # DuckDB, read-only
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


def saved_clients(warehouse: Path) -> set[str]:
    """The clients the unfinished load's batches committed, as the warehouse itself lists them
    (what `--resume` reads); each has every day of the range from the new load."""
    with Warehouse(warehouse).read() as con:
        saved = {
            c
            for (c,) in con.execute(
                "SELECT client_id FROM usage_load_clients JOIN usage_loads USING (load_id) "
                "WHERE finished_at IS NULL"
            ).fetchall()
        }
    return saved


def tables_of(warehouse: Path) -> dict[str, list[tuple]]:
    with Warehouse(warehouse).read() as con:
        return {
            table: con.execute(
                f"SELECT * EXCLUDE (fetched_at) FROM {table} ORDER BY ALL"
            ).fetchall()
            for table in COMPARED
        }


def exports_of(export_dir: Path) -> dict[str, tuple[list[tuple], list[tuple]]]:
    """Per exported table: its column names and types, and its rows, read back from parquet."""
    exports = {}
    with duckdb.connect() as con:
        for table in COMPARED:
            if table in PARTITIONED:
                source = (
                    f"read_parquet('{export_dir / table}/*/*.parquet', hive_partitioning = true)"
                )
            else:
                source = f"read_parquet('{export_dir / table / table}.parquet')"
            query = f"SELECT * EXCLUDE (fetched_at) FROM {source}"
            types = [row[:2] for row in con.execute(f"DESCRIBE {query}").fetchall()]
            exports[table] = (types, con.execute(f"{query} ORDER BY ALL").fetchall())
    return exports


@dataclass(frozen=True)
class Clean:
    """An uninterrupted run of the range into a warehouse of its own."""

    warehouse: Path
    raw_dir: Path
    tables: dict[str, list[tuple]]
    exports: dict[str, tuple[list[tuple], list[tuple]]]
    balance_requests: int


@pytest.fixture(scope="module")
def clean(sim: object, tmp_path_factory: pytest.TempPathFactory) -> Clean:
    folder = tmp_path_factory.mktemp("clean")
    env = pipeline_env(sim, folder)
    first = len(sim.requests)
    outcome = Stack(sim, env, folder).refresh(START, END)
    assert outcome.success, outcome.problems
    warehouse = Path(env["PIPELINE_WAREHOUSE"])
    tables = tables_of(warehouse)
    assert len(tables["usage_coverage"]) == CLIENTS * DAYS
    assert tables["usage_daily"] and tables["usage_by_category"] and tables["usage_monthly_api"]
    requests = len(balance_requests(sim, first))
    assert requests > 0 and requests % CLIENTS == 0  # the same plan for every client
    return Clean(
        warehouse,
        folder / "raw",
        tables,
        exports_of(Path(env["PIPELINE_EXPORT_DIR"])),
        requests,
    )


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

    def __init__(self, warehouse: Path, since: datetime) -> None:
        self.warehouse = warehouse
        self.since = since
        self.held = Warehouse(warehouse).connect(read_only=True)
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
            with Warehouse(self.warehouse).read() as con:
                state = usage_state(con, self.since)
            batching = batching and run.batching()
            self.new_states.append((len(self.runs), batching, state))
            self._stop.wait(0.1)


def test_killed_runs_lose_at_most_their_batch_in_flight_and_resume_to_a_clean_run(
    sim: object, clean: Clean, tmp_path: Path
) -> None:
    folder = tmp_path / "killed"
    env = pipeline_env(sim, folder)
    warehouse = Path(env["PIPELINE_WAREHOUSE"])
    # The range as a clean run loads it: a lake records where its files are, so it is loaded
    # here rather than copied.
    outcome = Stack(sim, env, folder).refresh(START, END)
    assert outcome.success, outcome.problems
    assert tables_of(warehouse) == clean.tables
    since = clock.now()  # the pipeline stamps its rows by its clock (pinned in the suite)
    per_client = clean.balance_requests // CLIENTS
    per_batch = per_client * BATCH

    with Analyst(warehouse, since) as analyst:
        before = analyst.before
        assert before[:2] == (CLIENTS * DAYS, 0)

        # Mid-fetch: the first batch committed, the second half fetched.
        first = run_pipeline(
            sim,
            env,
            kill_when=lambda run: len(run.balance_requests()) >= per_batch * 3 // 2,
            watcher=analyst,
        )
        assert first.killed and first.returncode == -signal.SIGKILL, first
        saved_first = saved_clients(warehouse)
        assert len(saved_first) == BATCH  # the batch in flight was lost, and only that
        assert check_warehouse(warehouse, since) == BATCH
        assert first.balance_clients() > saved_first

        # Between batches: killed as soon as its first batch is committed.
        second = run_pipeline(
            sim,
            env,
            "--resume",
            kill_when=lambda run: run.saw("usage: batch 2 committed"),
            watcher=analyst,
        )
        assert second.killed and second.returncode == -signal.SIGKILL, second
        assert second.saw(f"usage: resuming, {BATCH} clients already saved by an interrupted run")
        saved_second = saved_clients(warehouse)
        assert saved_first < saved_second and len(saved_second) % BATCH == 0
        assert check_warehouse(warehouse, since) == len(saved_second)
        assert not second.balance_clients() & saved_first  # what was saved is not fetched again

        # To the end, the analyst's transaction still open: only what was not committed is
        # fetched.
        third = run_pipeline(sim, env, "--resume", watcher=analyst)
        assert third.returncode == 0, third
        assert not third.balance_clients() & saved_second
        assert len(third.balance_requests()) == per_client * (CLIENTS - len(saved_second))

    assert check_warehouse(warehouse, since) == CLIENTS
    assert saved_clients(warehouse) == set()  # the load finished: a later --resume starts anew
    assert tables_of(warehouse) == clean.tables
    assert exports_of(Path(env["PIPELINE_EXPORT_DIR"])) == clean.exports
    with Warehouse(warehouse).read() as con:
        kept = con.execute(
            "SELECT max(fetched_at) FROM usage_coverage WHERE list_contains(?, client_id)",
            [sorted(saved_first)],
        ).fetchone()[0]
        after = usage_state(con, since)
    assert since < kept < second.started_at  # the first run's batch, as that run fetched it
    # From the first kill to the end, the resumed runs asked for less than one full run...
    refetched = sum(len(run.balance_requests()) for run in (second, third))
    assert refetched < clean.balance_requests
    # ...and what the lost batches fetched was not logged: one fetch row per planned request.
    assert after == (
        CLIENTS * DAYS,
        CLIENTS * DAYS,
        before[2],
        before[3],
        2 * before[4],
        before[5] + clean.balance_requests,
    )

    # The analyst's transaction kept its snapshot through two kills and every batch commit,
    # queried during every run, and its next transaction saw the whole load.
    assert {run for run, _, _ in analyst.new_states} >= {1, 2, 3}
    assert set(analyst.held_states) == {before}
    assert analyst.next_state == after
    # New connections saw batches land one by one, each whole: coverage never lost a day, and
    # the clients with the new load grew by whole clients (every day of the range at once).
    new_coverage = [state[1] for _, _, state in analyst.new_states]
    assert all(state[0] == CLIENTS * DAYS for _, _, state in analyst.new_states)
    assert all(count % DAYS == 0 for count in new_coverage)
    assert new_coverage == sorted(new_coverage)
    assert len(set(new_coverage)) > 0 and new_coverage[-1] == CLIENTS * DAYS
    assert any(batching for _, batching, _ in analyst.new_states)
