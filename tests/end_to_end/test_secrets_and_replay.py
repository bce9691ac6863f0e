"""Secrets never land anywhere; the raw log replays to the same numbers; the demo runs."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from end_to_end.expected import warehouse_usage
from end_to_end.leaks import leaks, string_cells
from end_to_end.stack import YESTERDAY, small_options, stack_env

import pipeline.demo as demo
from pipeline.definitions import build_definitions
from pipeline.refresh import execute_refresh, run_replay
from pipeline.simulator import run_simulator
from pipeline.warehouse import Warehouse

START = YESTERDAY - timedelta(days=12)


def test_no_secret_reaches_tables_exports_logs_or_dagster_events(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    with run_simulator(small_options(token_ttl_seconds=2)) as sim:
        env = stack_env(
            sim, tmp_path, D360_API_KEY="", D360_USERNAME=sim.username, D360_PASSWORD=sim.password
        )
        (tmp_path / "dagster_home").mkdir()
        with dg.DagsterInstance.local_temp(str(tmp_path / "dagster_home")) as instance:
            outcome = execute_refresh(build_definitions(env), START, YESTERDAY, instance)
            events = [str(r) for run_id in outcome.run_ids for r in instance.all_logs(run_id)]
        secrets = {sim.password, sim.api_key}

    assert outcome.success, outcome.problems
    with Warehouse(tmp_path / "warehouse.sqlite").read() as con:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables where table_type = 'BASE TABLE'"
            ).fetchall()
        ]
        cells = [cell for t in tables for cell in string_cells(con.sql(f"from {t}").pl())]
    cells += [
        cell
        for f in (tmp_path / "export").rglob("*.parquet")
        for cell in string_cells(pl.read_parquet(f))
    ]
    places = {
        "warehouse and exports": cells,
        "Dagster events": events,
        "logs": [r.getMessage() for r in caplog.records],
    }
    assert len(cells) > 1000 and len(events) > 20
    assert leaks(places, secrets) == {}


def test_replay_rebuilds_the_range_from_raw_files_without_calling_the_api(stack):
    assert stack.refresh(START, YESTERDAY).success
    assert stack.refresh(START, START + timedelta(days=3)).success  # overlapping raw responses
    loaded = warehouse_usage(stack.warehouse, START, YESTERDAY)
    with Warehouse(stack.warehouse).write() as con:  # a transform bug would have left this
        con.execute("DELETE FROM usage_daily; DELETE FROM usage_by_category")
    requests_before = len(stack.sim.requests)

    # 8 clients: three batches; settings come from the mapping alone, DAGSTER_HOME included.
    env = {**stack.env, "PIPELINE_BATCH_CLIENTS": "3", "DAGSTER_HOME": str(stack.tmp)}
    assert run_replay(env, START, YESTERDAY) == 0

    assert len(stack.sim.requests) == requests_before
    assert warehouse_usage(stack.warehouse, START, YESTERDAY) == loaded


def test_a_byte_identical_refetch_logs_its_time_but_stores_no_body_again(stack) -> None:
    # Days long past are final: fetching them again returns the same bytes.
    first, last = YESTERDAY - timedelta(days=60), YESTERDAY - timedelta(days=45)
    assert stack.refresh(first, last).success
    raw_dir = stack.warehouse.parent / "raw"
    files_before = sorted(raw_dir.rglob("*.parquet"))
    assert stack.refresh(first, last).success

    assert sorted(raw_dir.rglob("*.parquet")) == files_before
    with Warehouse(stack.warehouse).read() as con:
        fetches, bodies, times = con.execute(
            "select count(*), count(distinct (client_id, window_start, granularity, body_sha256)),"
            " count(distinct fetched_at) from raw_balance_fetches"
        ).fetchone()
    assert fetches == 2 * bodies and times > bodies
    stored = pl.read_parquet(files_before)
    assert stored.height == bodies


def test_demo_builds_a_warehouse_and_says_how_to_query_it(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)  # the demo's folder is data/demo/ under the working directory
    monkeypatch.setattr(demo, "DEMO_CLIENTS", 4)
    monkeypatch.setattr(demo, "DEMO_MONTHS", 2)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setenv("D360_API_KEY", "a-real-key-the-demo-must-ignore")

    assert demo.run_demo() == 0

    out = capsys.readouterr().out
    first_day = demo.demo_first_day(YESTERDAY)
    assert f"loaded: {first_day} .. {YESTERDAY}" in out
    assert "python -m pipeline query --warehouse" in out
    with Warehouse(tmp_path / "data" / "demo" / "warehouse.sqlite").read() as con:
        [(clients, days)] = con.execute(
            "select count(distinct client_id), count(distinct usage_date) from usage_coverage"
        ).fetchall()
        features = con.execute(
            "select (select count(*) from client_markups), "
            "(select count(*) from usage_daily_by_channel), "
            "(select count(*) from rate_cards), (select count(*) from statements)"
        ).fetchone()
    assert (clients, days) == (4, (YESTERDAY - first_day).days + 1)
    assert (tmp_path / "data" / "demo" / "export" / "usage_daily").is_dir()
    # Every feature shows: markups (one changing), channel rows, prices, a closed month.
    markups, channel_rows, prices, statements = features
    assert (markups, prices) == (3, 6) and channel_rows > 0 and statements > 0
    closed = (YESTERDAY.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    assert f"{closed} closed: {statements} statements in" in out
    pdfs = (tmp_path / "data" / "demo" / "reports" / "statements" / closed).glob("*.pdf")
    assert len(list(pdfs)) == statements
    assert "from channel_monthly_cost" in out and "from statement_lines_by_month" in out


@pytest.mark.parametrize(
    ("yesterday", "first"),
    [("2026-11-24", "2025-11-01"), ("2026-01-31", "2025-01-01"), ("2026-12-01", "2025-12-01")],
)
def test_demo_covers_thirteen_calendar_months(yesterday: str, first: str) -> None:
    from datetime import date

    assert demo.demo_first_day(date.fromisoformat(yesterday)) == date.fromisoformat(first)
