"""The team's lake end to end: the catalog on Postgres (a real server that asks for the role's
password) and the data files on S3 (moto's server), driven through the real CLI in subprocesses
against the simulator, several batches per run.

One clean run loads the range into the fresh lake. Then a reload of the range (as a re-run after
revised figures would) is SIGKILLed as soon as its output says batches were committed, and
`run --resume` finishes it; an analyst in the test's own process holds one read-only transaction
open from before the reload to after the resume. The lake and the exports end equal to the clean
run's; the analyst kept its snapshot and neither side saw an error.

The same runs, and `query`, `connect-sql` and `report` after them, are where the catalog's
password and the S3 keys must never show: output, the Dagster instance, the catalog itself
(pg_dump), the data files on S3 and every file written under the runs' folder. The secrets test
on the default stack (test_secrets_and_replay.py) covers the API's login and its bearer tokens,
in-process, debug logs included.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from end_to_end.killed_runs import (
    BATCH,
    CLIENTS,
    DAYS,
    TIMEOUT,
    Analyst,
    Clean,
    Run,
    check_resumed_to_clean,
    check_warehouse,
    killable_simulator,
    lake_of,
    pipeline_env,
    run_pipeline,
    saved_clients,
)
from end_to_end.leaks import file_texts, folder_texts, leaks
from lake_servers import S3, Postgres

from pipeline import clock
from pipeline.settings import Settings
from pipeline.warehouse import WarehouseError
from pipeline.warehouse.extensions import UNVERIFIED_LOAD, load_extensions

pytestmark = pytest.mark.timeout(600)  # three real runs on a busy machine


@pytest.fixture(scope="module")
def sim() -> Iterator[object]:
    with killable_simulator() as simulator:
        yield simulator


@dataclass
class TeamRuns:
    """What the runs did, for the tests to judge."""

    env: dict[str, str]
    folder: Path
    database: str
    bucket: str
    clean: Clean
    runs: list[Run]
    """The clean run, the killed reload and its resume, in that order."""
    saved: set[str]
    """The clients the killed reload's batches committed, as the lake listed them after it."""
    complete_after_kill: int
    """The clients with the whole range from the reload, just after the kill."""
    analyst: Analyst


@pytest.fixture(scope="module")
def team(
    sim: object, postgres: Postgres, s3: S3, tmp_path_factory: pytest.TempPathFactory
) -> TeamRuns:
    folder = tmp_path_factory.mktemp("team")
    catalog, bucket = postgres.new_database(), s3.new_bucket()
    env = pipeline_env(
        sim,
        folder,
        PIPELINE_WAREHOUSE=catalog,
        PGPASSWORD=postgres.password,
        PIPELINE_DATA_PATH=f"s3://{bucket}/lake/",
        PIPELINE_EXPORT_DIR=f"s3://{bucket}/export/",
        **s3.env(bucket),
    )
    first_request = len(sim.requests)
    clean_run = run_pipeline(sim, env)
    assert clean_run.returncode == 0, clean_run
    clean = Clean.of(sim, env, first_request)
    wh = lake_of(env)
    since = clock.now()  # the pipeline stamps its rows by its clock (pinned in the suite)

    with Analyst(wh, since) as analyst:
        # Killed once the output says two batches are committed: a state read from the run, not
        # a guess at how long it takes.
        killed = run_pipeline(
            sim, env, kill_when=lambda run: run.saw("usage: batch 2 committed"), watcher=analyst
        )
        saved = saved_clients(wh)
        complete_after_kill = check_warehouse(wh, since)
        resumed = run_pipeline(sim, env, "--resume", watcher=analyst)
    return TeamRuns(
        env,
        folder,
        catalog.split("dbname=")[1],
        bucket,
        clean,
        [clean_run, killed, resumed],
        saved,
        complete_after_kill,
        analyst,
    )


# What an analyst and an operator run once the load is done: each a `python -m pipeline`
# subprocess, all at once (each spends most of its time importing).
COMMANDS = {
    "sums": (
        "query",
        "--format",
        "json",
        "SELECT currency, count(*) AS days, sum(total_price) AS total FROM usage_daily "
        "GROUP BY currency ORDER BY currency",
    ),
    "query": ("query", "select client_id, name from clients"),
    "connect-sql": ("connect-sql",),
    "report": ("report",),
}


@pytest.fixture(scope="module")
def commands(team: TeamRuns) -> dict[str, subprocess.CompletedProcess[str]]:
    def cli(args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pipeline", *args],
            env=team.env,
            cwd=team.env["HOME"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )

    with ThreadPoolExecutor(len(COMMANDS)) as pool:
        done = dict(zip(COMMANDS, pool.map(cli, COMMANDS.values()), strict=True))
    for name, result in done.items():
        assert result.returncode == 0, f"{name}: {result.stderr}"
    return done


def test_a_killed_run_resumes_to_the_clean_run_while_an_analyst_holds_a_snapshot(
    team: TeamRuns, commands: dict[str, subprocess.CompletedProcess[str]], s3: S3
) -> None:
    _, killed, resumed = team.runs
    assert killed.killed and killed.returncode == -signal.SIGKILL, killed
    # Only whole batches were committed, at least the two the output announced, and not all.
    assert len(team.saved) % BATCH == 0 and 2 * BATCH <= len(team.saved) < CLIENTS
    assert team.complete_after_kill == len(team.saved)  # every other client as it was

    assert resumed.returncode == 0, resumed
    assert resumed.saw(
        f"usage: resuming, {len(team.saved)} clients already saved by an interrupted run"
    )
    assert not resumed.balance_clients() & team.saved  # what was saved is not fetched again
    per_client = team.clean.balance_requests // CLIENTS
    assert len(resumed.balance_requests()) == per_client * (CLIENTS - len(team.saved))
    check_resumed_to_clean(team.env, team.clean, team.analyst, runs=2)

    # The finance totals an analyst queries, through the CLI: equal to the clean run's, per
    # currency, and every client-day of the range covered.
    sums = {
        row["currency"]: (row["days"], Decimal(row["total"]))
        for row in json.loads(commands["sums"].stdout)
    }
    clean_daily = team.clean.tables["usage_daily"]  # client_id, usage_date, currency, ...
    assert sums == {
        currency: (
            sum(1 for row in clean_daily if row[2] == currency),
            sum(row[8] for row in clean_daily if row[2] == currency),  # total_price
        )
        for currency in {row[2] for row in clean_daily}
    }
    assert all(total > 0 for _, total in sums.values())
    assert len(team.clean.tables["usage_coverage"]) == CLIENTS * DAYS
    # The data files and the exports are on S3, each under its configured prefix.
    files = [key for key in s3.objects(team.bucket) if key.endswith(".parquet")]
    lake = [key for key in files if key.startswith(f"s3://{team.bucket}/lake/")]
    export = [key for key in files if key.startswith(f"s3://{team.bucket}/export/")]
    assert lake and export and len(lake) + len(export) == len(files)
    assert f"s3://{team.bucket}/export/clients/clients.parquet" in export


def test_the_catalog_refuses_a_wrong_password_in_one_line_without_it(team: TeamRuns) -> None:
    wrong = "not-the-lake-password-3kd9"
    lake = Settings.from_env({**team.env, "PGPASSWORD": wrong}).lake()
    with pytest.raises(WarehouseError) as refused, lake.read():
        pass
    message = str(refused.value)
    assert "password authentication failed" in message and "\n" not in message
    assert wrong not in message


def test_no_lake_credential_shows_in_output_instance_catalog_or_files(
    team: TeamRuns,
    commands: dict[str, subprocess.CompletedProcess[str]],
    postgres: Postgres,
    s3: S3,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = team.env
    secrets = [
        env["PGPASSWORD"],
        env["AWS_ACCESS_KEY_ID"],
        env["AWS_SECRET_ACCESS_KEY"],
        env["D360_API_KEY"],
    ]
    places: dict[str, list[str]] = {
        f"{name} output": [done.stdout, done.stderr] for name, done in commands.items()
    }
    for number, run in enumerate(team.runs):
        places[f"run {number} output"] = [*run.lines, *run.stdout]
    # DAGSTER_HOME's run and event storage, the exports, the raw responses, the report: all of
    # it lives under the runs' folder (their HOME too).
    places |= folder_texts(team.folder)
    places["catalog (pg_dump)"] = [postgres.tool("pg_dump", team.database)]
    for url in s3.objects(team.bucket):
        places[url] = file_texts(url, s3.read(url))

    assert leaks(places, secrets) == {}
    # The places were really there: the instance's run and event storage, the raw responses, the
    # report, the lake's files and the exports on S3.
    assert {"runs.db", "index.db"} <= {Path(p).name for p in places if "/dagster_home/" in p}
    assert any("/data/raw/" in p for p in places)
    assert any(p.startswith(f"s3://{team.bucket}/export/") for p in places)
    written = commands["report"].stdout.splitlines()
    report_files = [line for line in written if line.endswith((".html", ".xlsx"))]
    assert len(report_files) == 2 and set(report_files) <= set(places)
    assert any(p.startswith("s3://") and p.endswith(".parquet") for p in places)
    assert "ducklake_snapshot" in places["catalog (pg_dump)"][0]
    # ...and the search reads what they hold: the runs' events, the catalog named in the output.
    events = leaks(places, ["ASSET_MATERIALIZATION"])
    assert any("/dagster_home/history/runs/" in p for p in events)
    assert "run 0 output" in leaks(places, [team.database])

    # connect-sql leaves placeholders for the S3 keys, and the catalog's password to libpq: with
    # the keys filled in and PGPASSWORD in the environment, as an analyst's DuckDB would have
    # them, the SQL attaches the lake read-only.
    text = commands["connect-sql"].stdout
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert f"${{{variable}}}" in text
        text = text.replace(f"${{{variable}}}", env[variable])
    monkeypatch.setenv("PGPASSWORD", env["PGPASSWORD"])
    con = duckdb.connect(config=UNVERIFIED_LOAD)
    load_extensions(con, lake_of(env).extensions())  # no downloads here: the wheels stand in
    for line in text.splitlines():
        if not line.startswith(("--", "INSTALL")):
            con.execute(line)
    [(days,)] = con.execute("SELECT count(*) FROM usage_coverage").fetchall()
    with pytest.raises(duckdb.Error, match="read-only"):
        con.execute("DELETE FROM usage_daily")
    con.close()
    assert days == CLIENTS * DAYS
