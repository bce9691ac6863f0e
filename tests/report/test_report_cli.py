"""python -m pipeline report, as an operator runs it (a real process, settings from the env)."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from finance.book import cents
from finance.conftest import JULY, summer_book
from openpyxl import load_workbook

from pipeline.warehouse import Warehouse
from pipeline.warehouse.store import THREADS_VARIABLE


def run_report(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # The developer's settings stay out; the suite's DuckDB threads (tests/conftest.py) stay in.
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIPELINE_", "D360_")) or k == THREADS_VARIABLE
    }
    clean |= {
        "PIPELINE_WAREHOUSE": str(tmp_path / "warehouse.sqlite"),
        "PIPELINE_REPORT_DIR": str(tmp_path / "reports"),
        "DAGSTER_HOME": str(tmp_path),
    }
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "report", *args],
        env=clean | env,
        cwd=tmp_path,  # no .env of the project
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    book = summer_book()
    book.markups, book.settings = [], None  # the CLI loads them from the file and the env
    return book.write(Warehouse(tmp_path / "warehouse.sqlite"))


def test_report_applies_the_markups_file_and_prints_both_paths(tmp_path, warehouse):
    markups = tmp_path / "markups.csv"
    markups.write_text("client_id,markup_pct,valid_from\nus,7,\nus,8.25,2024-08\n")
    done = run_report(
        tmp_path,
        "--month",
        "2024-07",
        PIPELINE_MARKUPS=str(markups),
        PIPELINE_DEFAULT_MARKUP_PCT="1.5",
        PIPELINE_LOW_BALANCE_DAYS="3",
    )
    assert done.returncode == 0, done.stderr
    html, statement = (Path(line) for line in done.stdout.splitlines())
    assert html == tmp_path / "reports" / "usage-report-2024-07.html" and html.is_file()
    assert statement == tmp_path / "reports" / "statement-2024-07.xlsx"
    usd = load_workbook(statement, data_only=True)["USD"]
    july_us = sum(
        d.total_price for d in summer_book().days if d.client_id == "us" and d.month == JULY
    )
    assert usd["G5"].value == 7.0  # Markup %: us's row of the file, before August's change
    assert usd["H5"].value == float(cents(july_us * Decimal("1.07")))
    eur = load_workbook(statement, data_only=True)["EUR"]
    assert eur["G5"].value == 1.5  # eu has no row: PIPELINE_DEFAULT_MARKUP_PCT
    assert "fewer than 3 days left" in html.read_text(encoding="utf-8")


def test_bad_markups_file_is_one_line_and_writes_nothing(tmp_path, warehouse):
    before = warehouse.latest_snapshot()
    markups = tmp_path / "markups.csv"
    markups.write_text("client_id,markup_pct\nus,7\nus,7.5\n")
    done = run_report(tmp_path, PIPELINE_MARKUPS=str(markups))
    assert done.returncode == 2
    assert done.stderr == (
        f"error: {markups}:3: client 'us' already has a markup from always on line 2; keep one\n"
    )
    assert warehouse.latest_snapshot() == before
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("month", ["2024-13", "2024-7-01"])
def test_bad_month_is_one_line(tmp_path, month):
    done = run_report(tmp_path, "--month", month)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "YYYY-MM" in done.stderr


def test_no_warehouse_yet_is_one_line(tmp_path):
    done = run_report(tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: no warehouse at ") and done.stderr.count("\n") == 1
