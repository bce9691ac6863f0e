"""`make demo` as a newcomer meets it: every feature has rows, the commands it prints work as
written, and every export reads alike in DuckDB, polars, pyarrow and pandas, with the
warehouse's types and sums. One demo run (the real command, in a folder of its own) serves all."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipeline.warehouse import Warehouse
from pipeline.warehouse.exports import PARTITION_KEY, PARTITIONED_TABLES

PROJECT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Demo:
    folder: Path  # where `python -m pipeline demo` ran (its data/demo/ is there)
    output: str

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.folder / "data" / "demo" / "warehouse.sqlite")

    @property
    def export(self) -> Path:
        return self.folder / "data" / "demo" / "export"

    def rows(self, sql: str) -> list[tuple]:
        with self.warehouse.read() as con:
            return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "DAGSTER_HOME": str(folder / "dagster")}
    # The suite's today (PIPELINE_TODAY, pinned by tests/conftest.py) dates the demo too.
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "demo"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    yield Demo(folder, done.stdout)


def test_the_demo_shows_markups_channels_and_a_closed_month(demo: Demo) -> None:
    [(markups,)] = demo.rows("SELECT count(*) FROM client_markups")
    assert markups >= 2
    marked_up = demo.rows(
        "SELECT count(*), count(DISTINCT markup_pct) FROM client_monthly_statement "
        "WHERE markup_source = 'client' AND billable_amount > cost"
    )
    assert marked_up[0][0] > 0 and marked_up[0][1] >= 2  # a markup that changes mid-history
    [(channel_days,)] = demo.rows("SELECT count(*) FROM usage_daily_by_channel")
    [(channel_months,)] = demo.rows("SELECT count(*) FROM channel_monthly_cost")
    assert channel_days > 0 and channel_months > 0
    [(statements,)] = demo.rows("SELECT count(*) FROM statements")
    assert statements > 0 and "not closed" not in demo.output
    # The report of the closed month says so (it is drawn again after the close).
    [report] = (demo.folder / "data" / "demo" / "reports").glob("usage-report-*.html")
    page = report.read_text()
    assert "is not closed yet" not in page and "Usage and fees" in page


def printed_commands(output: str) -> list[str]:
    """Each pipeline command line the demo prints for the newcomer to type next (a line that
    starts with settings or the interpreter; not the mentions inside sentences)."""
    command = re.compile(r"([A-Z0-9_]+=\S+ )*\S*python\S* -m pipeline ")
    return [line.strip() for line in output.splitlines() if command.match(line.strip())]


def test_every_command_the_demo_prints_works_as_written(demo: Demo) -> None:
    commands = printed_commands(demo.output)
    queries = [c for c in commands if " query " in c and " --output " not in c]
    assert len(queries) >= 5 and any(" tables " in f"{c} " for c in commands), demo.output
    env = {**os.environ, "DAGSTER_HOME": str(demo.folder / "dagster")}
    for command in commands:
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=demo.folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"{command}: {done.stderr}"
        if command in queries:  # each shows its feature: rows, not an empty box
            footer = done.stdout.rstrip().splitlines()[-1]
            assert re.match(r"(the first )?[1-9][\d,]* rows?", footer), (command, done.stdout)
    csv = demo.folder / "statement.csv"
    assert csv.read_bytes().startswith(b"\xef\xbb\xbfclient_name,month,currency,cost")
    # The demo's markups survived the commands (report re-reads the finance files it is given).
    assert demo.rows("SELECT count(*) FROM client_markups") == [(3,)]


def readme_quick_start() -> str:
    """The shell block of the README's quick start: what a newcomer runs after `make demo`."""
    section = (PROJECT / "README.md").read_text().split("## Quick start", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


def test_the_readmes_quick_start_works_on_the_demo_as_written(demo: Demo) -> None:
    script = readme_quick_start().replace(".venv/bin/python", sys.executable)
    assert script.count(" -m pipeline ") >= 2
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=demo.folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "client_monthly_statement" in done.stdout  # the tables listing
    assert "10 rows" in done.stdout  # the statement query's box


def exported_names(demo: Demo) -> list[str]:
    return sorted(p.name for p in demo.export.iterdir())


def warehouse_frame(demo: Demo, name: str) -> pa.Table:
    with demo.warehouse.read() as con:
        return con.execute(f"FROM {name}").arrow().read_all()


def decimal_sums(table: pa.Table) -> dict[str, Decimal]:
    return {
        field.name: pc.sum(table[field.name]).as_py() or Decimal(0)
        for field in table.schema
        if pa.types.is_decimal(field.type)
    }


def test_every_export_reads_alike_in_four_engines(demo: Demo) -> None:
    names = exported_names(demo)
    assert {"client_monthly_statement", "usage_reconciliation_monthly"} <= set(names)
    assert {"channel_monthly_cost", "statements", *PARTITIONED_TABLES} <= set(names)
    for name in names:
        folder = demo.export / name
        expected = warehouse_frame(demo, name)
        sums = decimal_sums(expected)
        partitioned = name in PARTITIONED_TABLES

        # pyarrow, no options: the folder as a dataset, the month key from the folder names.
        arrow = pq.read_table(folder)
        if partitioned:
            assert arrow.schema.field(PARTITION_KEY).type in (
                pa.string(),
                pa.dictionary(pa.int32(), pa.string()),
            )
            arrow = arrow.drop_columns([PARTITION_KEY])
        assert arrow.schema == expected.schema, name
        assert arrow.num_rows == expected.num_rows, name
        assert decimal_sums(arrow) == sums, name

        # DuckDB, no options; its types by name (its Arrow output names the session's zone).
        with duckdb.connect() as con:
            relation = con.sql(f"FROM read_parquet('{folder}/**/*.parquet')")
            duck_types = dict(zip(relation.columns, map(str, relation.types), strict=True))
            duck = relation.arrow().read_all()
        with demo.warehouse.read() as con:
            relation = con.sql(f"FROM {name}")
            types = dict(zip(relation.columns, map(str, relation.types), strict=True))
        assert duck_types == types | ({PARTITION_KEY: "VARCHAR"} if partitioned else {}), name
        assert decimal_sums(duck) == sums, name

        # polars, no options.
        frame = pl.read_parquet(folder)
        if partitioned:
            frame = frame.drop(PARTITION_KEY)
        assert frame.schema == pl.from_arrow(expected.slice(0, 0)).schema, name  # type: ignore[union-attr]
        assert frame.height == expected.num_rows, name
        for column, total in sums.items():
            assert (frame[column].sum() or Decimal(0)) == total, (name, column)

        # pandas, no options: decimals come as Python Decimals, dates as dates.
        pandas = pd.read_parquet(folder)
        assert len(pandas) == expected.num_rows, name
        for column, total in sums.items():
            values = [v for v in pandas[column] if pd.notna(v)]
            assert all(isinstance(v, Decimal) for v in values), (name, column)
            assert sum(values, Decimal(0)) == total, (name, column)
        if partitioned and expected.num_rows:
            assert pandas["usage_date"].map(type).unique().tolist() == [
                type(expected["usage_date"][0].as_py())
            ], name
