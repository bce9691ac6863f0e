"""The same run means the same thing on any day: the date-sensitive behaviour at pinned dates.

The pipeline's clock (PIPELINE_TODAY) and the simulator's today are pinned together to month
starts, a year start, a leap day, both European DST changes (with the process in Berlin's time
zone: the pipeline's days are UTC days whatever the machine's zone) and a day whose estimates
window reaches back over a month end. At each, the run that a finance team does first thing in
a month, the month just ended up to yesterday, must be accepted by the range checks, fetch one
request per window and one month figure per client, land exactly the simulator's figures,
reconcile, pass its freshness check and produce that month's report. The whole suite runs at any
date too: `PIPELINE_TODAY=2028-02-29 make test` (tests/conftest.py).
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from dates import last_ended_month, month_ends_within
from end_to_end.expected import expected_usage, warehouse_usage
from end_to_end.stack import Stack, small_options, stack_env

from pipeline import clock
from pipeline.definitions import build_definitions
from pipeline.defs.partitions import PARTITION_RANGE_END, PARTITION_RANGE_START
from pipeline.preflight import check_range
from pipeline.settings import SettingsError
from pipeline.simulator import run_simulator
from pipeline.warehouse import Warehouse

WINDOW_DAYS = 10  # stack_env's PIPELINE_WINDOW_DAYS
DST_CHANGES = {date(2027, 3, 28), date(2026, 10, 25)}  # last Sundays of March and October
ESTIMATES_OVER_MONTH_END = date(2027, 5, 2)  # the simulator's 3 estimated days reach into April
PINNED = {
    "1st-of-a-month": date(2026, 12, 1),
    "2nd-of-a-month": date(2027, 2, 2),
    "9th-of-a-month": date(2026, 11, 9),
    "1-january": date(2027, 1, 1),
    "29-february": date(2028, 2, 29),
    "march-dst-sunday": date(2027, 3, 28),
    "october-dst-sunday": date(2026, 10, 25),
    "estimates-over-a-month-end": ESTIMATES_OVER_MONTH_END,
}


@pytest.fixture(params=list(PINNED.values()), ids=list(PINNED))
def pinned(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[date]:
    day: date = request.param
    monkeypatch.setenv(clock.TODAY_VARIABLE, day.isoformat())
    zone = os.environ.get("TZ")
    if day in DST_CHANGES:
        os.environ["TZ"] = "Europe/Berlin"
        time.tzset()
    yield day
    if day in DST_CHANGES:
        if zone is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = zone
        time.tzset()


def balance_granularities(sim: object) -> Counter:
    return Counter(r.query["granularity"] for r in sim.requests if r.path.endswith("/info/balance"))


def month_statuses(warehouse: Path, month: date) -> set[str]:
    with Warehouse(warehouse).read() as con:
        found = con.execute(
            "select distinct status from usage_reconciliation_monthly where month = ?", [month]
        ).fetchall()
    return {status for (status,) in found}


def test_the_month_just_ended_loads_exactly_on_any_date(pinned: date, tmp_path: Path) -> None:
    yesterday = pinned - timedelta(days=1)
    first, last = last_ended_month(pinned)
    first_day = first - timedelta(days=20)
    check_range(first_day, first, yesterday)  # yesterday is a day a run may end on...
    with pytest.raises(SettingsError, match=f"after yesterday \\({yesterday}"):
        check_range(first_day, first, pinned)  # ...today is not

    options = small_options(clients=3, history_days=90, balance_rate=None, today=pinned)
    with run_simulator(options) as sim:
        env = stack_env(
            sim, tmp_path, PIPELINE_START_DATE=first_day.isoformat(), PIPELINE_RUN_REPORT="on"
        )
        stack = Stack(sim, env, tmp_path)
        outcome = stack.refresh(first, yesterday)
        clients = len(sim.client_ids())

        assert outcome.success, outcome.problems
        assert outcome.warnings == []  # fresh, reconciled
        assert warehouse_usage(stack.warehouse, first, yesterday) == expected_usage(
            sim, first, yesterday
        )
        windows = math.ceil(((yesterday - first).days + 1) / WINDOW_DAYS)
        assert balance_granularities(sim) == {
            "day": clients * windows,
            "month": clients * month_ends_within(first, yesterday),
        }
        assert month_statuses(stack.warehouse, first) == {"match"}
        assert (stack.tmp / "reports" / f"usage-report-{last:%Y-%m}.html").is_file()

        if pinned == ESTIMATES_OVER_MONTH_END:
            # Four days on, the estimates are final: the schedule's refetch replaces them.
            later = pinned + timedelta(days=4)
            sim.set_today(later)
            os.environ[clock.TODAY_VARIABLE] = later.isoformat()  # undone by monkeypatch
            # Its report was proven above; this run is about the numbers, so no charts again.
            refetch = stack.refresh(
                yesterday - timedelta(days=3), yesterday, PIPELINE_RUN_REPORT="off"
            )
            assert refetch.success, refetch.problems
            assert warehouse_usage(stack.warehouse, first, yesterday) == expected_usage(
                sim, first, yesterday
            )
            assert month_statuses(stack.warehouse, first) == {"match"}


def test_dagster_and_the_schedule_end_at_the_pinned_yesterday(pinned: date) -> None:
    yesterday = pinned - timedelta(days=1)
    defs = build_definitions({"PIPELINE_START_DATE": "2024-01-01"})
    partitions = defs.resolve_assets_def("usage_daily").partitions_def
    assert partitions.get_last_partition_key() == yesterday.isoformat()

    tick = datetime.combine(pinned, datetime.min.time(), UTC).replace(hour=2, minute=30)
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
        request = defs.resolve_schedule_def("daily_refresh").evaluate_tick(context).run_requests[0]
    assert request.tags[PARTITION_RANGE_START] == (yesterday - timedelta(days=3)).isoformat()
    assert request.tags[PARTITION_RANGE_END] == yesterday.isoformat()
