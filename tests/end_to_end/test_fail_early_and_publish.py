"""The operator's side of a run: unusable folders are one line before any request, Ctrl-C is one
line and a marked run, and a partly failed run still publishes what it loaded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from end_to_end.stack import YESTERDAY, Stack, small_options, stack_env
from end_to_end.test_cli import pipeline_cli

from pipeline.simulator import Faults, run_simulator
from pipeline.warehouse import Warehouse

START = YESTERDAY - timedelta(days=4)
RANGE = ["--start", START.isoformat(), "--end", YESTERDAY.isoformat()]


def balance_requests(sim: object) -> list:
    return [r for r in sim.requests if r.path.endswith("/info/balance")]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"DAGSTER_HOME": "relative/home"}, "DAGSTER_HOME=relative/home is not an absolute path"),
        ({"DAGSTER_HOME": "{tmp}/home"}, "dagster.yaml cannot be read as YAML at line 2"),
        ({"PIPELINE_EXPORT_DIR": "{tmp}/blocker/export"}, "PIPELINE_EXPORT_DIR={tmp}/blocker"),
    ],
)
def test_an_unusable_folder_is_one_line_before_any_request_or_dagster(
    stack: Stack, change, message
) -> None:
    (stack.tmp / "blocker").write_text("a file where a folder should be")
    (stack.tmp / "home").mkdir()
    (stack.tmp / "home" / "dagster.yaml").write_text("telemetry: {enabled: [\n")
    env = {**stack.env, **{k: v.format(tmp=stack.tmp) for k, v in change.items()}}
    result = pipeline_cli("run", *RANGE, env=env, cwd=stack.tmp, probe=True)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message.format(tmp=stack.tmp) in lines[0]
    assert result.stdout.splitlines() == ["dagster not imported"]
    assert stack.sim.requests == []  # not even the listings
    assert not stack.warehouse.exists()


def test_ctrl_c_is_one_line_exit_130_and_the_run_is_marked(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"  # fresh: Dagster would greet it with a telemetry banner
    # Slow answers, one at a time, keep the usage run busy well after its first answer.
    with run_simulator(small_options(clients=4, latency_seconds=0.3)) as sim:
        env = {
            **stack_env(sim, tmp_path, D360_CONCURRENCY="1"),
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "DAGSTER_HOME": str(home),
        }
        run = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "run", *RANGE],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not balance_requests(sim) and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert run.poll() is None, run.communicate()  # still fetching usage
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=60)

    assert run.returncode == 130, err
    assert err.strip().splitlines()[-1] == "interrupted" and out == ""
    assert "Traceback" not in err and "Error" not in err
    assert "Telemetry" not in err and not (home / ".telemetry").exists()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        [run] = instance.get_runs()
        steps = {
            event.step_key: event.dagster_event_type.value
            for event in instance.all_logs(
                run.run_id,
                of_type={dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE},
            )
        }
    assert run.job_name == "warehouse_refresh"
    assert run.status in (dg.DagsterRunStatus.CANCELED, dg.DagsterRunStatus.FAILURE)
    assert steps["clients"] == "STEP_SUCCESS"
    assert steps["usage"] == "STEP_FAILURE"
    assert "parquet_exports" not in steps  # nothing after an interrupt


def exported_clients(export_dir: Path) -> list[str]:
    glob = str(export_dir / "usage_daily" / "*" / "*.parquet")
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT DISTINCT client_id FROM read_parquet('{glob}', hive_partitioning = true) "
            "ORDER BY 1"
        ).fetchall()
    return [client_id for (client_id,) in rows]


def test_a_partly_failed_usage_run_still_publishes_what_it_loaded(stack: Stack) -> None:
    gone = stack.sim.client_ids()[0]
    stack.sim.set_faults(Faults(vanished_clients=frozenset({gone})))
    outcome = stack.refresh(START, YESTERDAY)

    assert not outcome.success  # the command exits non-zero...
    assert any(gone in line for line in outcome.problems)
    assert len(outcome.run_ids) == 1  # ...but the same run published what loaded
    with Warehouse(stack.warehouse).read() as con:
        loaded = [
            c
            for (c,) in con.execute(
                "SELECT DISTINCT client_id FROM usage_daily ORDER BY 1"
            ).fetchall()
        ]
    assert gone not in loaded and len(loaded) >= 2
    assert exported_clients(stack.export_dir) == loaded


def test_a_run_that_loaded_nothing_publishes_nothing(stack: Stack) -> None:
    outcome = stack.refresh(START, YESTERDAY, D360_API_KEY="wrong-key-0123456789")

    assert not outcome.success and len(outcome.run_ids) == 1
    assert not stack.export_dir.exists()  # the listing failed: every step after it skipped
