"""python -m pipeline as an operator runs it: a subprocess, real files, one line per problem."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from end_to_end.expected import count_rows
from end_to_end.stack import YESTERDAY, Stack, small_options, stack_env

from pipeline import clock
from pipeline.simulator import Simulator, run_simulator

ROOT = Path(__file__).resolve().parents[2]
# `python -m pipeline`, then a last stdout line saying whether Dagster was imported.
WITH_IMPORT_PROBE = """
import sys
from pipeline.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as usage_error:
    code = usage_error.code
print("dagster imported" if "dagster" in sys.modules else "dagster not imported")
sys.exit(code)
"""


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with run_simulator(small_options()) as running:
        yield running


@pytest.fixture
def stack(sim: Simulator, tmp_path: Path) -> Stack:
    """The module's simulator, this test's own files."""
    return Stack(sim, stack_env(sim, tmp_path), tmp_path)


def balance_requests(sim: Simulator) -> int:
    return sum(r.path.endswith("/info/balance") for r in sim.requests)


def pipeline_cli(
    *args: str, env: dict[str, str], cwd: Path, probe: bool = False
) -> subprocess.CompletedProcess:
    # A clean environment: only what the test gives, so the developer's own .env cannot leak in,
    # and the suite's today.
    base = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
        "DAGSTER_HOME": str(cwd),
        clock.TODAY_VARIABLE: clock.today().isoformat(),
    }
    command = ["-c", WITH_IMPORT_PROBE] if probe else ["-m", "pipeline"]
    return subprocess.run(
        [sys.executable, *command, *args],
        env={**base, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "env_change", "message"),
    [
        (
            ["--start", "2026-13-01", "--end", "2026-01-02"],
            {},
            "is not a date of the form YYYY-MM-DD",
        ),
        (["--start", "1 May", "--end", "2026-01-02"], {}, "is not a date of the form YYYY-MM-DD"),
        (["--start", "2025-01-10", "--end", "2025-01-01"], {}, "is before --start"),
        (["--start", "2020-01-01", "--end", "2020-01-02"], {}, "is before PIPELINE_START_DATE"),
        (["--start", "2025-01-01", "--end", "2999-01-01"], {}, "is after yesterday"),
        (
            ["--start", "2025-01-01", "--end", "2025-01-02"],
            {"D360_PARTNER_ID": ""},
            "D360_PARTNER_ID",
        ),
        (
            ["--start", "2025-01-01", "--end", "2025-01-02"],
            {"D360_BALANCE_RATE": "lots"},
            "D360_BALANCE_RATE",
        ),
        (
            ["--start", "2025-01-01", "--end", "2025-01-02"],
            {"PIPELINE_START_DATE": "2025-02-30"},
            "PIPELINE_START_DATE",
        ),
        (
            ["--start", "2025-01-01", "--end", "2025-01-02"],
            {"D360_BASE_URL": "http://hub.example.com/api/v2"},
            "https",
        ),
    ],
)
def test_bad_input_is_one_line_before_dagster_loads_and_writes_nothing(
    stack: Stack, args, env_change, message
) -> None:
    env = {**stack.env, "PIPELINE_START_DATE": "2024-01-01", **env_change}
    requests_before = balance_requests(stack.sim)
    result = pipeline_cli("run", *args, env=env, cwd=stack.tmp, probe=True)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], result.stderr
    # Instant for the operator: the mistake is found before Dagster (seconds to import) loads.
    assert result.stdout.splitlines() == ["dagster not imported"]
    assert not stack.warehouse.exists()
    assert balance_requests(stack.sim) == requests_before


def test_unwritable_warehouse_is_one_line(stack: Stack) -> None:
    blocker = stack.tmp / "not-a-dir"
    blocker.write_text("a file where a folder should be")
    env = {**stack.env, "PIPELINE_WAREHOUSE": str(blocker / "warehouse.sqlite")}
    start = (YESTERDAY - timedelta(days=2)).isoformat()
    result = pipeline_cli(
        "run", "--start", start, "--end", start, env=env, cwd=stack.tmp, probe=True
    )

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout.splitlines() == ["dagster not imported"]
    assert "PIPELINE_WAREHOUSE" in result.stderr or str(blocker) in result.stderr


def test_run_loads_the_range_and_summarises(stack: Stack) -> None:
    start = YESTERDAY - timedelta(days=6)
    result = pipeline_cli(
        "run",
        "--start",
        start.isoformat(),
        "--end",
        YESTERDAY.isoformat(),
        env=stack.env,
        cwd=stack.tmp,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"loaded: {start} .. {YESTERDAY}")
    assert "usage: " in result.stderr  # progress lines
    covered = count_rows(stack.warehouse, "select count(*) from usage_coverage")
    assert covered == 7 * len(stack.sim.client_ids())
    assert stack.sim.api_key not in result.stdout + result.stderr
    query = pipeline_cli(
        "query", "select count(*) as n from usage_coverage", env=stack.env, cwd=stack.tmp
    )
    assert query.returncode == 0 and f"{covered:,}" in query.stdout


def test_a_refused_key_fails_with_exit_1_and_no_secret(stack: Stack) -> None:
    start = (YESTERDAY - timedelta(days=1)).isoformat()
    env = {**stack.env, "D360_API_KEY": "wrong-key-0123456789"}
    result = pipeline_cli("run", "--start", start, "--end", start, env=env, cwd=stack.tmp)

    assert result.returncode == 1
    assert "error: clients:" in result.stderr and "D360_API_KEY" in result.stderr
    assert "wrong-key-0123456789" not in result.stdout + result.stderr


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["replay", "--help"]])
def test_help_is_printed_without_loading_dagster(args, tmp_path: Path) -> None:
    result = pipeline_cli(*args, env={}, cwd=tmp_path, probe=True)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m pipeline")
    assert result.stdout.splitlines()[-1] == "dagster not imported"
