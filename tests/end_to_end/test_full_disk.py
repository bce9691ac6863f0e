"""A full disk is one line, and nothing is lost: the warehouse (catalog, data and landing files),
the report folder, the export folder and a query's --output file on a small tmpfs that runs out
of space mid-write. What was published stays readable and equal (the warehouse once there is
space again), the error names the path, and the next run with space succeeds."""

from __future__ import annotations

import math
import os
import re
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from end_to_end.stack import YESTERDAY, Stack, small_options, stack_env
from finance.conftest import JULY, summer_book
from openpyxl import load_workbook
from report.test_report_cli import run_report
from warehouse.test_query_read_only import tree

from pipeline.cli import main
from pipeline.report import build_report
from pipeline.simulator import run_simulator
from pipeline.warehouse import Warehouse, WarehouseError

PAGE = 4096  # tmpfs hands out space in pages
START = YESTERDAY - timedelta(days=6)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs of the test's own."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here, which needs root: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=True)


def fill(disk: Path, leave: int) -> Path:
    """A file taking all the disk's space but `leave` bytes (rounded up to whole pages)."""
    stats = os.statvfs(disk)
    filler = disk / "filler"
    filler.write_bytes(b"\0" * (stats.f_bavail * stats.f_frsize - math.ceil(leave / PAGE) * PAGE))
    return filler


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    book = summer_book()
    book.markups, book.settings = [], None  # the CLI loads them from the file and the env
    return book.write(Warehouse(tmp_path / "warehouse.sqlite"))


def test_a_full_report_folder_is_one_line_and_keeps_the_published_report(
    tmp_path, warehouse, small_disk
):
    reports = small_disk / "reports"
    assert (
        run_report(tmp_path, "--month", "2024-08", PIPELINE_REPORT_DIR=str(reports)).returncode == 0
    )
    published = tree(reports)
    filler = fill(small_disk, leave=PAGE)  # less than the page needs

    done = run_report(tmp_path, "--month", "2024-08", PIPELINE_REPORT_DIR=str(reports))

    assert done.returncode == 2
    assert done.stderr == (
        f"error: PIPELINE_REPORT_DIR={reports}: cannot write {reports}/usage-report-2024-08.html "
        "(No space left on device); free some space there\n"
    )
    assert tree(reports) == published  # no half-written file, no staging file left
    load_workbook(reports / "statement-2024-08.xlsx")
    filler.unlink()
    assert (
        run_report(tmp_path, "--month", "2024-08", PIPELINE_REPORT_DIR=str(reports)).returncode == 0
    )


def test_a_disk_full_mid_workbook_is_one_line_and_loses_nothing(tmp_path, warehouse, small_disk):
    reports = small_disk / "reports"
    assert (
        run_report(tmp_path, "--month", "2024-08", PIPELINE_REPORT_DIR=str(reports)).returncode == 0
    )
    published = tree(reports)
    # Room for July's page and one more page, less than its workbook.
    july = build_report(warehouse, tmp_path / "measure", JULY)
    assert july.statement.stat().st_size > PAGE
    filler = fill(small_disk, leave=july.html.stat().st_size + PAGE)

    done = run_report(tmp_path, "--month", "2024-07", PIPELINE_REPORT_DIR=str(reports))

    assert done.returncode == 2
    assert done.stderr == (
        f"error: PIPELINE_REPORT_DIR={reports}: cannot write {reports}/statement-2024-07.xlsx "
        "(No space left on device); free some space there\n"
    )
    after = tree(reports)
    assert {k: v for k, v in after.items() if "2024-08" in k} == published
    assert set(after) == {*published, "usage-report-2024-07.html"}  # no staging file left
    filler.unlink()
    assert (
        run_report(tmp_path, "--month", "2024-07", PIPELINE_REPORT_DIR=str(reports)).returncode == 0
    )
    load_workbook(reports / "statement-2024-07.xlsx")


def test_a_full_disk_under_query_output_is_one_line_and_keeps_the_file(
    warehouse, small_disk, capsys
):
    target = small_disk / "statement.csv"
    sql = "select * from client_monthly_statement, range(200)"  # a few hundred kB of CSV
    args = ["query", "--warehouse", str(warehouse.path), "--format", "csv", "--output"]
    assert main([*args, str(target), "select 1 as one"]) == 0
    filler = fill(small_disk, leave=PAGE)

    assert main([*args, str(target), sql]) == 2

    assert capsys.readouterr().err == (
        f"error: --output: cannot write {target} (No space left on device); free some space there\n"
    )
    assert target.read_bytes() == b"\xef\xbb\xbfone\r\n1\r\n"  # the file written before, whole
    assert sorted(small_disk.iterdir()) == [filler, target]  # no staging file left
    filler.unlink()
    assert main([*args, str(target), sql]) == 0


def test_a_full_export_disk_is_one_line_and_keeps_the_published_export(tmp_path, small_disk):
    export = small_disk / "export"
    with run_simulator(small_options()) as sim:
        stack = Stack(sim, stack_env(sim, tmp_path, PIPELINE_EXPORT_DIR=str(export)), tmp_path)
        assert stack.refresh(START, YESTERDAY).success
        published = tree(export)
        filler = fill(small_disk, leave=PAGE)

        failed = stack.refresh(START, YESTERDAY)

        assert not failed.success
        [line] = failed.problems
        versions = re.escape(f"{small_disk}/.export.versions/")
        assert re.fullmatch(
            re.escape(f"parquet_exports: cannot write the export under {export}: ")
            + f'Could not write file "{versions}[^"]+\\.parquet": No space left on device',
            line,
        ), line
        assert tree(export) == published
        filler.unlink()
        assert stack.refresh(START, YESTERDAY).success
    usage = pl.read_parquet(export / "usage_daily" / "**" / "*.parquet", hive_partitioning=True)
    days = usage["usage_date"].unique()
    assert days.len() == (YESTERDAY - START).days + 1


TABLES = ("usage_daily", "usage_by_category", "usage_coverage", "clients")


def lake_rows(wh: Warehouse) -> dict[str, list[tuple]]:
    with wh.read() as con:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}


def test_a_full_lake_disk_is_one_line_and_keeps_the_lake(tmp_path, small_disk):
    lake = small_disk / "warehouse.sqlite"
    with run_simulator(small_options()) as sim:
        stack = Stack(sim, stack_env(sim, tmp_path, PIPELINE_WAREHOUSE=str(lake)), tmp_path)
        assert stack.refresh(START, START + timedelta(days=1)).success
        wh = Warehouse(lake)
        before = lake_rows(wh)
        assert before["usage_coverage"]
        filler = fill(small_disk, leave=PAGE)

        failed = stack.refresh(START + timedelta(days=2), YESTERDAY)

        assert not failed.success
        assert len(failed.problems) == 1, "\n".join(failed.problems)
        [line] = failed.problems
        # Every step that writes failed for this one reason: one line names them and the disk.
        assert line.startswith("channels, clients, ") and "\n" not in line, line
        assert f"the disk under the warehouse {lake} (data {small_disk}/" in line, line
        assert "failed a write" in line and "free some space there" in line, line
        # Even a read needs a little room (SQLite's shared-memory index beside a WAL catalog, made
        # again by the first connection): an analyst gets the same line meanwhile.
        with pytest.raises(WarehouseError, match=r"the disk under the warehouse .* free some"):
            lake_rows(wh)
        filler.unlink()
        assert lake_rows(wh) == before  # nothing half-written is visible, nothing lost
        assert stack.refresh(START + timedelta(days=2), YESTERDAY).success
    after = lake_rows(wh)
    days = {row[1] for row in after["usage_coverage"]}
    assert days == {START + timedelta(days=i) for i in range((YESTERDAY - START).days + 1)}
    # The first run's rows are still there, untouched by the failed run and the one after it.
    assert set(before["usage_daily"]) <= set(after["usage_daily"])
