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

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from end_to_end.killed_runs import (
    BATCH,
    CLIENTS,
    DAYS,
    END,
    START,
    Analyst,
    Clean,
    check_resumed_to_clean,
    check_warehouse,
    killable_simulator,
    lake_of,
    pipeline_env,
    run_pipeline,
    saved_clients,
    tables_of,
)
from end_to_end.stack import Stack

from pipeline import clock

pytestmark = pytest.mark.timeout(600)  # five real runs: minutes on a busy machine


@pytest.fixture(scope="module")
def sim() -> Iterator[object]:
    with killable_simulator() as simulator:
        yield simulator


@pytest.fixture(scope="module")
def clean(sim: object, tmp_path_factory: pytest.TempPathFactory) -> Clean:
    folder = tmp_path_factory.mktemp("clean")
    env = pipeline_env(sim, folder)
    first = len(sim.requests)
    outcome = Stack(sim, env, folder).refresh(START, END)
    assert outcome.success, outcome.problems
    return Clean.of(sim, env, first)


def test_killed_runs_lose_at_most_their_batch_in_flight_and_resume_to_a_clean_run(
    sim: object, clean: Clean, tmp_path: Path
) -> None:
    folder = tmp_path / "killed"
    env = pipeline_env(sim, folder)
    wh = lake_of(env)
    # The range as a clean run loads it: a lake records where its files are, so it is loaded
    # here rather than copied.
    outcome = Stack(sim, env, folder).refresh(START, END)
    assert outcome.success, outcome.problems
    assert tables_of(wh) == clean.tables
    since = clock.now()  # the pipeline stamps its rows by its clock (pinned in the suite)
    per_client = clean.balance_requests // CLIENTS
    per_batch = per_client * BATCH

    with Analyst(wh, since) as analyst:
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
        saved_first = saved_clients(wh)
        assert len(saved_first) == BATCH  # the batch in flight was lost, and only that
        assert check_warehouse(wh, since) == BATCH
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
        saved_second = saved_clients(wh)
        assert saved_first < saved_second and len(saved_second) % BATCH == 0
        assert check_warehouse(wh, since) == len(saved_second)
        assert not second.balance_clients() & saved_first  # what was saved is not fetched again

        # To the end, the analyst's transaction still open: only what was not committed is
        # fetched.
        third = run_pipeline(sim, env, "--resume", watcher=analyst)
        assert third.returncode == 0, third
        assert not third.balance_clients() & saved_second
        assert len(third.balance_requests()) == per_client * (CLIENTS - len(saved_second))

    check_resumed_to_clean(env, clean, analyst, runs=3)
    with wh.read() as con:
        kept = con.execute(
            "SELECT max(fetched_at) FROM usage_coverage WHERE list_contains(?, client_id)",
            [sorted(saved_first)],
        ).fetchone()[0]
    assert since < kept < second.started_at  # the first run's batch, as that run fetched it
    # From the first kill to the end, the resumed runs asked for less than one full run.
    refetched = sum(len(run.balance_requests()) for run in (second, third))
    assert refetched < clean.balance_requests
