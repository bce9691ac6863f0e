"""Issue 8, "Done when": `python -m pipeline run` killed with SIGKILL mid-fetch, between batches
and mid-commit leaves a warehouse that opens read-only, with no duplicate key and no partial
client-day, and `run --resume` then ends equal to a clean run of the range (tables and parquet
exports) without fetching again what the killed runs saved. An analyst's read-only connection held
open during a batched load neither fails the load nor sees any part of it before it is published.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from end_to_end.stack import YESTERDAY, Stack, stack_env

from pipeline.simulator import SimulatorOptions, run_simulator
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
pytestmark = pytest.mark.timeout(600)  # several real runs; slow on a busy machine
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
        seed=8, clients=CLIENTS, history_days=120, balance_rate=None, latency_seconds=0.02
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
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_request: int | None = None  # set when the run is over
    lines: list[str] = field(default_factory=list)
    returncode: int | None = None
    killed: bool = False

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def saw(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def balance_requests(self) -> list:
        return balance_requests(self.sim, self.first_request, self.last_request)

    def balance_clients(self) -> set[str]:
        return {r.client_id for r in self.balance_requests()}


def run_pipeline(
    sim: object,
    env: dict[str, str],
    *args: str,
    kill_when: Callable[[Run], bool] | None = None,
) -> Run:
    """Run `python -m pipeline run` over the range; SIGKILL it (its whole process group, as a
    power loss would) as soon as `kill_when` holds, checked every couple of milliseconds."""
    settle(sim)
    run = Run(sim, len(sim.requests))
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", "--start", str(START), "--end", str(END), *args],
        env=env,
        cwd=env["HOME"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )

    def read() -> None:
        for line in process.stderr:
            run.lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + TIMEOUT
    try:
        while process.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail(f"the run still goes after {TIMEOUT:.0f}s:\n{run.stderr}")
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
    reader.join(timeout=10)
    settle(sim)
    run.last_request = len(sim.requests)
    return run


def staging_files(warehouse: Path) -> list[Path]:
    return sorted(warehouse.parent.glob(f"{warehouse.name}.staging-*"))


def journal_of(warehouse: Path) -> Path:
    return warehouse.with_name(f"{warehouse.name}.run-{START}_{END}.journal")


def check_warehouse(warehouse: Path) -> int:
    """The invariants a killed run must leave; returns how many clients have the range covered."""
    assert warehouse.is_file()
    assert not warehouse.with_name(warehouse.name + ".wal").exists()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table, key in KEYS.items():
            duplicates = con.execute(
                f"SELECT count(*) FROM (SELECT {key} FROM {table} GROUP BY ALL HAVING count(*) > 1)"
            ).fetchone()
            assert duplicates == (0,), f"duplicate keys in {table}"
        for table in ("usage_daily", "usage_by_category"):
            uncovered = con.execute(
                f"SELECT count(*) FROM {table} "
                "ANTI JOIN usage_coverage USING (client_id, usage_date)"
            ).fetchone()
            assert uncovered == (0,), f"{table} has client-days usage_coverage lacks"
        per_client = con.execute(
            "SELECT count(*) FROM usage_coverage "
            "WHERE usage_date BETWEEN ? AND ? GROUP BY client_id",
            [START, END],
        ).fetchall()
    assert all(days == DAYS for (days,) in per_client), "a client has only part of the range"
    return len(per_client)


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
    with duckdb.connect(str(warehouse), read_only=True) as con:
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


def test_runs_killed_mid_fetch_between_batches_and_mid_commit_resume_to_a_clean_run(
    sim: object, clean: Clean, tmp_path: Path
) -> None:
    env = pipeline_env(sim, tmp_path / "killed")
    warehouse = Path(env["PIPELINE_WAREHOUSE"])
    per_client = clean.balance_requests // CLIENTS
    per_batch = per_client * BATCH

    # Mid-fetch: the first batch saved, the second half fetched.
    first = run_pipeline(
        sim, env, kill_when=lambda run: len(run.balance_requests()) >= per_batch * 3 // 2
    )
    assert first.killed and first.returncode == -signal.SIGKILL, first.stderr
    assert check_warehouse(warehouse) == 0  # nothing published: the directory tables only
    saved_first = journal_clients(warehouse, tmp_path / "journal-1")
    assert len(saved_first) == BATCH
    assert first.balance_clients() > saved_first  # the batch in flight was lost

    # Between batches: killed as soon as its first batch is saved.
    second = run_pipeline(
        sim, env, "--resume", kill_when=lambda run: run.saw("usage: batch 1 saved")
    )
    assert second.killed and second.returncode == -signal.SIGKILL, second.stderr
    assert second.saw(f"usage: resuming, {BATCH} clients already saved by an interrupted run")
    assert check_warehouse(warehouse) == 0
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
    )
    assert third.killed and third.returncode == -signal.SIGKILL, third.stderr
    assert staging_files(warehouse)  # the half-written copy, never swapped in
    assert check_warehouse(warehouse) == 0  # the published file is as it was
    assert journal_clients(warehouse, tmp_path / "journal-3") == set(sim.client_ids())
    assert not third.balance_clients() & saved_second
    assert len(third.balance_requests()) == per_client * (CLIENTS - len(saved_second))

    # To the end: nothing left to fetch, the journal published and removed.
    fourth = run_pipeline(sim, env, "--resume")
    assert fourth.returncode == 0, fourth.stderr
    assert fourth.saw(f"usage: resuming, {CLIENTS} clients already saved by an interrupted run")
    assert fourth.balance_requests() == []
    assert check_warehouse(warehouse) == CLIENTS
    assert not staging_files(warehouse) and not journal_of(warehouse).exists()
    assert tables_of(warehouse) == clean.tables
    assert exports_of(Path(env["PIPELINE_EXPORT_DIR"])) == clean.exports
    with duckdb.connect(str(warehouse), read_only=True) as con:
        kept = con.execute(
            "SELECT max(fetched_at) FROM usage_coverage WHERE list_contains(?, client_id)",
            [sorted(saved_first)],
        ).fetchone()[0]
    assert kept < second.started_at  # the first run's batch, as it fetched it

    # From the first kill to the end, the resumed runs asked for less than one full run.
    refetched = sum(len(run.balance_requests()) for run in (second, third, fourth))
    assert refetched < clean.balance_requests


def usage_state(con: duckdb.DuckDBPyConnection, since: datetime) -> tuple[int, ...]:
    """What the usage load changes: coverage rows (all, and fetched after `since`), usage rows,
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


def test_a_read_only_connection_held_during_a_batched_load_sees_none_of_it_until_published(
    sim: object, clean: Clean, tmp_path: Path
) -> None:
    folder = tmp_path / "analyst"
    env = pipeline_env(sim, folder)
    warehouse = Path(env["PIPELINE_WAREHOUSE"])
    # The warehouse already holds the range, as loaded yesterday; today's run loads it again.
    shutil.copyfile(clean.warehouse, warehouse)
    shutil.copytree(clean.raw_dir, folder / "raw")
    since = datetime.now(UTC)
    held = duckdb.connect(str(warehouse), read_only=True)  # the analyst's, open all along
    before = usage_state(held, since)
    assert before[0] == CLIENTS * DAYS and before[1] == 0

    seen_by_held: list[tuple[int, ...]] = []
    seen_by_new: list[tuple[bool, tuple[int, ...]]] = []  # (while batches were saved, state)
    last_look = [0.0]
    last_batch = f"usage: batch {CLIENTS // BATCH} saved"

    def analyst(run: Run) -> bool:
        # Called as the run is polled: every 50 ms, query the held connection and a new one.
        if time.monotonic() - last_look[0] >= 0.05:
            seen_by_held.append(usage_state(held, since))
            fetching = run.saw("balance windows fetched")
            with Warehouse(warehouse).read() as con:
                state = usage_state(con, since)
            seen_by_new.append((fetching and not run.saw(last_batch), state))
            last_look[0] = time.monotonic()
        return False  # never kill

    try:
        run = run_pipeline(sim, env, kill_when=analyst)
        after_held = usage_state(held, since)
    finally:
        held.close()

    assert run.returncode == 0 and not run.killed, run.stderr
    assert run.saw(last_batch)
    with Warehouse(warehouse).read() as con:
        after = usage_state(con, since)
    assert after[:4] == (CLIENTS * DAYS, CLIENTS * DAYS, before[2], before[3])  # all new at once
    assert after[5] == before[5] + clean.balance_requests
    assert set(seen_by_held) == {before} and after_held == before  # the old snapshot throughout
    assert {state for _, state in seen_by_new} == {before, after}  # never part of the run
    # While batches were being fetched and saved, new connections saw none of them.
    during_batches = [state for batching, state in seen_by_new if batching]
    assert during_batches and set(during_batches) == {before}
    assert tables_of(warehouse) == clean.tables
