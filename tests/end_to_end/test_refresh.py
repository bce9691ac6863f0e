"""The product end to end: simulator over HTTP -> Dagster runs -> DuckDB -> views and parquet."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import dagster as dg
import polars as pl
import pytest
from dates import month_ends_within
from end_to_end.expected import count_rows, expected_usage, warehouse_usage
from end_to_end.stack import YESTERDAY, Stack, small_options, stack_env

from pipeline.definitions import build_definitions
from pipeline.refresh import execute_refresh
from pipeline.simulator import Faults, run_simulator
from pipeline.warehouse import Warehouse

START = YESTERDAY - timedelta(days=34)
# 35 days in windows of at most 10 days: 4 day requests per client, whatever the day count, plus
# one MONTH-granularity request per calendar month that ended inside the range (a month is longer
# than the 10-day window, so each month is a request of its own).
DAYS = [START + timedelta(days=i) for i in range((YESTERDAY - START).days + 1)]
MONTHS_ENDED = month_ends_within(START, YESTERDAY)
REQUESTS_PER_CLIENT = 4 + MONTHS_ENDED


def balance_requests_per_client(sim: object) -> Counter:
    return Counter(
        r.client_id for r in sim.requests if r.path.endswith("/info/balance") and r.status == 200
    )


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One simulator and one refresh of START..YESTERDAY, shared by the tests that only read the
    result (and the simulator's request log)."""
    tmp = tmp_path_factory.mktemp("loaded")
    with run_simulator(small_options()) as sim:
        stack = Stack(sim, stack_env(sim, tmp), tmp)
        outcome = stack.refresh(START, YESTERDAY)
        assert outcome.success, outcome.problems
        yield stack


def test_warehouse_equals_simulator_usage_per_client_day_and_category(loaded: Stack) -> None:
    stack = loaded
    expected_daily, expected_categories = expected_usage(stack.sim, START, YESTERDAY)
    daily, by_category = warehouse_usage(stack.warehouse, START, YESTERDAY)
    assert len(expected_daily) > 100
    assert daily == expected_daily
    assert by_category == expected_categories


def test_totals_are_kept_apart_per_currency(loaded: Stack) -> None:
    stack = loaded
    expected: dict[str, Decimal] = {}
    currency_of = {c: stack.sim.client_currency(c) for c in stack.sim.client_ids()}
    for (client_id, _), values in expected_usage(stack.sim, START, YESTERDAY)[0].items():
        currency = currency_of[client_id]
        expected[currency] = expected.get(currency, Decimal(0)) + values[-1]
    with Warehouse(stack.warehouse).read() as con:
        rows = con.execute(
            "select currency, sum(total_price) from usage_daily group by 1"
        ).fetchall()
    assert dict(rows) == expected
    assert len(expected) >= 2


def test_backfill_costs_one_balance_request_per_client_per_window(loaded: Stack) -> None:
    stack = loaded
    assert MONTHS_ENDED >= 1
    per_client = balance_requests_per_client(stack.sim)
    expected = Counter({client_id: REQUESTS_PER_CLIENT for client_id in stack.sim.client_ids()})
    assert per_client == expected


def test_rerunning_overlapping_ranges_never_duplicates(stack: Stack) -> None:
    middle = START + timedelta(days=20)
    assert stack.refresh(START, middle).success
    assert stack.refresh(START + timedelta(days=10), YESTERDAY).success
    assert stack.refresh(START, middle).success

    expected_daily, expected_categories = expected_usage(stack.sim, START, YESTERDAY)
    daily, by_category = warehouse_usage(stack.warehouse, START, YESTERDAY)
    assert daily == expected_daily
    assert by_category == expected_categories
    duplicates = count_rows(
        stack.warehouse,
        "select count(*) from (select client_id, usage_date "
        "from usage_daily group by all having count(*) > 1)",
    )
    assert duplicates == 0


def test_coverage_tells_no_usage_from_not_fetched(loaded: Stack) -> None:
    stack = loaded
    clients = len(stack.sim.client_ids())
    days = (YESTERDAY - START).days + 1
    covered = count_rows(stack.warehouse, "select count(*) from usage_coverage")
    with_usage = count_rows(stack.warehouse, "select count(*) from usage_daily")
    assert covered == clients * days
    assert with_usage < covered  # inactive clients and quiet days: fetched, no usage
    before = count_rows(
        stack.warehouse, "select count(*) from usage_coverage where usage_date < ?", [START]
    )
    assert before == 0


def test_faults_on_the_way_still_land_the_same_numbers(tmp_path) -> None:
    faults = Faults(
        error_burst_every=7,
        error_burst_length=2,
        drop_every=11,
        rate_limit_every=5,
        token_expiry_every=9,
    )
    with run_simulator(small_options(faults=faults)) as sim:
        env = stack_env(
            sim, tmp_path, D360_API_KEY="", D360_USERNAME=sim.username, D360_PASSWORD=sim.password
        )
        outcome = Stack(sim, env, tmp_path).refresh(START, YESTERDAY)
        injected = Counter(r.fault for r in sim.requests if r.fault)
        expected = expected_usage(sim, START, YESTERDAY)

    assert outcome.success, outcome.problems
    assert {"error", "drop", "rate_limit", "token_expiry"} <= set(injected)
    assert warehouse_usage(tmp_path / "warehouse.sqlite", START, YESTERDAY) == expected


def test_concurrent_runs_and_an_open_reader_do_not_fail_on_the_lock(stack: Stack) -> None:
    stack.refresh(START, START)  # the file exists, so an analyst can hold it open
    reader = Warehouse(stack.warehouse).connect(read_only=True)
    halves = [(START, START + timedelta(days=16)), (START + timedelta(days=17), YESTERDAY)]
    outcomes: list = []
    threads = [
        threading.Thread(target=lambda r=r: outcomes.append(stack.refresh(*r))) for r in halves
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reader.close()

    assert [o.success for o in outcomes] == [True, True], [o.problems for o in outcomes]
    assert warehouse_usage(stack.warehouse, START, YESTERDAY) == expected_usage(
        stack.sim, START, YESTERDAY
    )


def test_exports_hold_the_same_totals_as_the_tables(loaded: Stack) -> None:
    stack = loaded
    exported = pl.read_parquet(stack.export_dir / "usage_daily", hive_partitioning=True)
    assert exported.schema["total_price"] == pl.Decimal(38, 10)
    by_currency = dict(exported.group_by("currency").agg(pl.col("total_price").sum()).iter_rows())
    with Warehouse(stack.warehouse).read() as con:
        table = dict(
            con.execute("select currency, sum(total_price) from usage_daily group by 1").fetchall()
        )
    assert by_currency == table
    categories = pl.read_parquet(stack.export_dir / "usage_by_category", hive_partitioning=True)
    assert categories.height == count_rows(
        stack.warehouse, "select count(*) from usage_by_category"
    )


def test_views_answer_per_currency_questions(loaded: Stack) -> None:
    stack = loaded
    with Warehouse(stack.warehouse).read() as con:
        monthly = con.execute(
            "select currency, sum(total_price) from usage_monthly_by_client group by 1"
        ).fetchall()
        daily = con.execute(
            "select currency, sum(total_price) from usage_daily group by 1"
        ).fetchall()
    assert dict(monthly) == dict(daily)


def test_clients_and_channels_match_the_listing(stack: Stack) -> None:
    stack.refresh(START, START)

    assert count_rows(stack.warehouse, "select count(*) from clients") == len(
        stack.sim.client_ids()
    )
    channels = count_rows(stack.warehouse, "select count(*) from channels")
    assert channels == stack.sim.channel_count()
    history = count_rows(stack.warehouse, "select count(*) from channels_history")
    assert history == channels  # first sighting of each; a second run adds nothing unchanged
    stack.refresh(START, START)
    assert count_rows(stack.warehouse, "select count(*) from channels_history") == channels


def test_a_client_failing_midway_keeps_its_rows_and_the_others_load(stack: Stack) -> None:
    assert stack.refresh(START, YESTERDAY).success
    before = warehouse_usage(stack.warehouse, START, YESTERDAY)
    stack.sim.clear_requests()
    vanished: list[str] = []

    def vanish_a_client_with_windows_to_go(line: str) -> None:
        # One request at a time, and the first usage progress line comes after 4 of 32 windows:
        # a client that already got its first window (with usage in it) still has windows to go.
        if line.startswith("usage:") and not vanished:
            first_window_end = START + timedelta(days=9)
            vanished.append(
                next(
                    c
                    for c in balance_requests_per_client(stack.sim)
                    if stack.sim.expected_usage(c, START, first_window_end)
                )
            )
            stack.sim.set_faults(Faults(vanished_clients=frozenset(vanished)))

    defs = build_definitions(
        {**stack.env, "D360_CONCURRENCY": "1"}, vanish_a_client_with_windows_to_go
    )
    with dg.DagsterInstance.ephemeral() as instance:
        outcome = execute_refresh(defs, START, YESTERDAY, instance)

    [gone] = vanished
    others = len(stack.sim.client_ids()) - 1
    assert not outcome.success
    assert outcome.problems[:2] == [
        "check every_client_and_day_fetched on usage_daily failed",
        f"1 of {others + 1} clients could not be loaded; the other {others} "
        "were. Re-run the range with --resume to fetch only those.",
    ]
    assert any(gone in line and "404" in line for line in outcome.problems)
    statuses = Counter(
        (r.client_id == gone, r.status)
        for r in stack.sim.requests
        if r.path.endswith("/info/balance")
    )
    assert statuses[True, 200] >= 1 and statuses[True, 404] == 1  # it failed midway
    # the others were fetched again, whole
    assert statuses[False, 200] == REQUESTS_PER_CLIENT * others
    assert warehouse_usage(stack.warehouse, START, YESTERDAY) == before


def test_refetching_the_trailing_days_replaces_revised_estimates(tmp_path) -> None:
    real_today = YESTERDAY + timedelta(days=1)
    then = real_today - timedelta(days=5)
    with run_simulator(small_options(today=then, estimate_days=3)) as sim:
        stack = Stack(sim, stack_env(sim, tmp_path), tmp_path)
        start, end = then - timedelta(days=10), then - timedelta(days=1)
        assert stack.refresh(start, end).success
        as_estimated = warehouse_usage(stack.warehouse, start, end)
        sim.set_today(real_today)  # five days later: the estimates are final now
        # What the daily schedule does with PIPELINE_REFETCH_DAYS=3: the trailing days again.
        assert stack.refresh(end - timedelta(days=3), end).success
        final = expected_usage(sim, start, end)

    assert warehouse_usage(stack.warehouse, start, end) == final
    revised = {key for key, value in final[0].items() if as_estimated[0].get(key) != value}
    assert revised and {day for _, day in revised} <= {end - timedelta(days=n) for n in range(3)}
