"""Issue 8, "Done when": `python -m pipeline run` killed with SIGKILL mid-fetch, between batches
and mid-commit leaves a warehouse that opens read-only, with no duplicate key, no partial
client-day and the previous load intact; `run --resume` then ends equal to a clean run of the range
(tables and parquet exports) without fetching again what the killed runs saved. An analyst's
read-only connection held open all along neither fails the load nor sees any part of it: it keeps
its snapshot, and new connections see the whole load at once, when it is published.

The runs reload a range a clean run loaded before (as a re-run after revised figures would), so a
half-published load would show as a client, or a client-day, mixing the old load and the new.
"""

from __future__ import annotations

import math
import os
import shutil
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


def staging_files(warehouse: Path) -> list[Path]:
    return sorted(warehouse.parent.glob(f"{warehouse.name}.staging-*"))


def journal_of(warehouse: Path) -> Path:
    return warehouse.with_name(f"{warehouse.name}.run-{START}_{END}.journal")


def check_warehouse(warehouse: Path, since: datetime) -> int:
    """The invariants any run, killed or not, must leave; returns how many clients have the
    range from the load that began at `since` (the others still have it from the load before)."""
    assert warehouse.is_file()
    assert not warehouse.with_name(warehouse.name + ".wal").exists()
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


def journal_clients(warehouse: Path, scratch: Path) -> set[str]:
    """The clients the run journal holds, read from a copy (the journal is left untouched), and
    checked: each saved client has every day of the range covered, no other client has any."""
    journal = journal_of(warehouse)
    assert journal.is_file()
    scratch.mkdir()
    copy = scratch / journal.name
    shutil.copyfile(journal, copy)
    if journal.with_name(journal.name + ".wal").exists():
        shutil.copyfile(
            journal.with_name(journal.name + ".wal"), copy.with_name(copy.name + ".wal")
        )
    with duckdb.connect(str(copy)) as con:  # replays the WAL the killed run left
        saved = {c for (c,) in con.execute("SELECT client_id FROM journal_clients").fetchall()}
        covered = dict(
            con.execute("SELECT client_id, count(*) FROM usage_coverage GROUP BY ALL").fetchall()
        )
        with_usage = {c for (c,) in con.execute("SELECT client_id FROM usage_daily").fetchall()}
    assert covered == dict.fromkeys(saved, DAYS)
    assert with_usage <= saved
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
    """A read-only connection opened on the warehouse before the load and held until after it,
    queried every 0.1 s from a thread, each time next to a connection opened just then."""

    def __init__(self, warehouse: Path, since: datetime) -> None:
        self.warehouse = warehouse
        self.since = since
        self.held = duckdb.connect(str(warehouse), read_only=True)
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


def test_killed_runs_resume_to_a_clean_run_and_a_held_reader_never_sees_half_a_load(
    sim: object, clean: Clean, tmp_path: Path
) -> None:
    folder = tmp_path / "killed"
    env = pipeline_env(sim, folder)
    warehouse = Path(env["PIPELINE_WAREHOUSE"])
    # The range as a clean run loaded it earlier: its warehouse and raw landing files.
    shutil.copyfile(clean.warehouse, warehouse)
    shutil.copytree(clean.raw_dir, folder / "raw")
    since = clock.now()  # the pipeline stamps its rows by its clock (pinned in the suite)
    per_client = clean.balance_requests // CLIENTS
    per_batch = per_client * BATCH

    with Analyst(warehouse, since) as analyst:
        before = analyst.before
        assert before[:2] == (CLIENTS * DAYS, 0)

        # Mid-fetch: the first batch saved, the second half fetched.
        first = run_pipeline(
            sim,
            env,
            kill_when=lambda run: len(run.balance_requests()) >= per_batch * 3 // 2,
            watcher=analyst,
        )
        assert first.killed and first.returncode == -signal.SIGKILL, first
        assert check_warehouse(warehouse, since) == 0  # nothing of it published
        assert tables_of(warehouse) == clean.tables  # the previous load intact
        saved_first = journal_clients(warehouse, tmp_path / "journal-1")
        assert len(saved_first) == BATCH
        assert first.balance_clients() > saved_first  # the batch in flight was lost

        # Between batches: killed as soon as its first batch is saved.
        second = run_pipeline(
            sim,
            env,
            "--resume",
            kill_when=lambda run: run.saw("usage: batch 1 saved"),
            watcher=analyst,
        )
        assert second.killed and second.returncode == -signal.SIGKILL, second
        assert second.saw(f"usage: resuming, {BATCH} clients already saved by an interrupted run")
        assert check_warehouse(warehouse, since) == 0
        assert tables_of(warehouse) == clean.tables
        saved_second = journal_clients(warehouse, tmp_path / "journal-2")
        assert saved_first < saved_second and len(saved_second) % BATCH == 0
        assert not second.balance_clients() & saved_first  # what was saved is not fetched again

        # Mid-commit: every client saved, killed while the publish writes its staging copy.
        last_batch = math.ceil((CLIENTS - len(saved_second)) / BATCH)
        third = run_pipeline(
            sim,
            env,
            "--resume",
            kill_when=lambda run: (
                run.saw(f"usage: batch {last_batch} saved") and bool(staging_files(warehouse))
            ),
            watcher=analyst,
        )
        assert third.killed and third.returncode == -signal.SIGKILL, third
        assert staging_files(warehouse)  # the half-written copy, never swapped in
        assert check_warehouse(warehouse, since) == 0  # the published file is as it was
        assert tables_of(warehouse) == clean.tables
        assert journal_clients(warehouse, tmp_path / "journal-3") == set(sim.client_ids())
        assert not third.balance_clients() & saved_second
        assert len(third.balance_requests()) == per_client * (CLIENTS - len(saved_second))

        # To the end, with the analyst's connection still open: nothing left to fetch, the
        # journal published (all of it at once) and removed.
        fourth = run_pipeline(sim, env, "--resume", watcher=analyst)
        assert fourth.returncode == 0, fourth
        assert fourth.saw(f"usage: resuming, {CLIENTS} clients already saved by an interrupted run")
        assert fourth.balance_requests() == []

    assert check_warehouse(warehouse, since) == CLIENTS
    assert not staging_files(warehouse) and not journal_of(warehouse).exists()
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
    refetched = sum(len(run.balance_requests()) for run in (second, third, fourth))
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

    # The analyst's connection kept its snapshot through three kills and the publish, queried
    # during every run.
    assert {run for run, _, _ in analyst.new_states} >= {1, 2, 3, 4}
    assert set(analyst.held_states) == {before}
    # New connections saw the old load or the whole new one, never a part...
    assert {state for _, _, state in analyst.new_states} == {before, after}
    # ...and nothing new until the last run published: not while batches were saved.
    assert {state for run, _, state in analyst.new_states if run < 4} == {before}
    assert any(batching for _, batching, _ in analyst.new_states)
