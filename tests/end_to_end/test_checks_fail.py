"""Every asset check driven red with real data over real HTTP, and what the operator sees: the
check's metadata in Dagster, and its line in the refresh's outcome (an ERROR check is a problem,
so `run` exits non-zero; a WARN check is a warning line).

Two refreshes of one warehouse, read by every test. The simulator's today is pinned two days
after the last day L of a month M, so M's last days are estimates:
1. M in full, channel usage on, one client vanished (balance answers 404);
2. the simulator moves four days on (M's estimates are final now), rows of a client the API no
   longer lists are loaded directly, and L alone is fetched again, channel usage off.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import dagster as dg
import pytest
from end_to_end.stack import YESTERDAY, Stack, small_options, stack_env

from pipeline.definitions import REFRESH_JOB, build_definitions
from pipeline.defs.checks import FRESHNESS_LAG_DAYS
from pipeline.refresh import RefreshOutcome, execute_refresh
from pipeline.simulator import Faults, run_simulator
from pipeline.usage_load import month_end
from pipeline.warehouse import Warehouse

M = (YESTERDAY - timedelta(days=45)).replace(day=1)
L = month_end(M)
GONE = "gone-client"

COVERAGE = "every_client_and_day_fetched"
FAMILIES = "categories_add_up_to_totals"
CHANNELS = "channels_add_up_to_client_days"
UNATTRIBUTED = "channel_usage_is_attributed"
FRESHNESS = "latest_partition_is_fresh"
MONTHS = "months_reconcile"
# Blocking checks of what DuckLake cannot enforce; the loads never write such rows, so they pass
# here and tests/defs/test_blocking_checks.py drives them red.
KEYS = "usage_keys_are_unique"
AMOUNTS = "usage_amounts_are_not_negative"


@dataclass
class Run:
    outcome: RefreshOutcome
    checks: dict[str, dg.AssetCheckEvaluation]

    def failed(self) -> set[str]:
        return {name for name, check in self.checks.items() if not check.passed}

    def metadata(self, check: str) -> dict[str, object]:
        return {key: value.value for key, value in self.checks[check].metadata.items()}

    def line(self, check: str) -> str:
        return f"check {check} on usage_daily failed"


@dataclass
class Story:
    stack: Stack
    vanished: str
    copied: str
    lost_category: tuple[int, int, Decimal]
    """(quantity, paid_quantity, price) of the category the copied rows lost."""
    estimated: dict[str, dict[date, tuple]]
    final: dict[str, dict[date, tuple]]
    first: Run
    second: Run


def refresh(stack: Stack, start: date, end: date, **env: str) -> Run:
    defs = build_definitions({**stack.env, **env})
    with dg.DagsterInstance.ephemeral() as instance:
        outcome = execute_refresh(defs, start, end, instance)
        evaluations = [
            event.dagster_event.event_specific_data
            for run_id in outcome.run_ids
            for event in instance.all_logs(
                run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
            )
        ]
    return Run(outcome, {evaluation.check_name: evaluation for evaluation in evaluations})


def days_of(sim: object, client_id: str) -> dict[date, tuple]:
    """Day -> (quantity, paid_quantity, free_quantity, total_price), as the API serves M now."""
    return {
        date.fromisoformat(row["period_date"][:10]): (
            int(row["quantity"]),
            int(row["paid_quantity"]),
            int(row["free_quantity"]),
            Decimal(row["total_price"]),
        )
        for row in sim.expected_usage(client_id, M, L)
    }


def categories_on_l(sim: object, client_id: str) -> dict[str, tuple[int, int, Decimal]]:
    """Category -> (quantity, paid_quantity, price) of the client's day L as served now, for
    the categories with a price."""
    return {
        category: (
            int(row[f"{category}_quantity"]),
            int(row[f"{category}_paid_quantity"]),
            Decimal(row[f"{category}_price"]),
        )
        for row in sim.expected_usage(client_id, L, L)
        for category in [key.removesuffix("_price") for key in row if key.endswith("_price")]
        if category != "total" and Decimal(row[f"{category}_price"]) > 0
    }


def load_rows_of_a_client_no_longer_listed(stack: Stack, like: str) -> None:
    """`like`'s rows of day L under a client id no listing has, its costliest category lost on
    the way: what hand-loaded rows, or an old transform that dropped a category, leave."""
    with Warehouse(stack.warehouse).write() as con:
        con.execute(
            f"INSERT INTO usage_daily SELECT * REPLACE ('{GONE}' AS client_id) FROM usage_daily "
            "WHERE client_id = ? AND usage_date = ?",
            [like, L],
        )
        con.execute(
            f"INSERT INTO usage_by_category SELECT * REPLACE ('{GONE}' AS client_id) "
            "FROM usage_by_category WHERE client_id = ? AND usage_date = ? "
            "QUALIFY row_number() OVER (ORDER BY price DESC) > 1",
            [like, L],
        )


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> Iterator[Story]:
    tmp = tmp_path_factory.mktemp("checks")
    with run_simulator(
        small_options(clients=4, balance_rate=None, today=L + timedelta(days=2))
    ) as sim:
        stack = Stack(sim, stack_env(sim, tmp, PIPELINE_WINDOW_DAYS="31"), tmp)
        clients = sim.client_ids()
        copied = next(c for c in clients if len(categories_on_l(sim, c)) >= 2)
        vanished = next(c for c in clients if c != copied)
        lost_category = max(categories_on_l(sim, copied).values(), key=lambda values: values[2])
        estimated = {c: days_of(sim, c) for c in clients}

        sim.set_faults(Faults(vanished_clients=frozenset({vanished})))
        first = refresh(stack, M, L, PIPELINE_CHANNEL_USAGE="on")

        sim.set_faults(Faults())
        sim.set_today(L + timedelta(days=6))
        final = {c: days_of(sim, c) for c in clients}
        load_rows_of_a_client_no_longer_listed(stack, copied)
        second = refresh(stack, L, L)
        yield Story(stack, vanished, copied, lost_category, estimated, final, first, second)


def test_each_refresh_turns_exactly_its_checks_red(story: Story) -> None:
    # A client that could not be loaded fails the first run's coverage check, not its usage
    # step: every check runs in both refreshes. The client's missing yesterday also makes the
    # latest day stale.
    every = {COVERAGE, FAMILIES, CHANNELS, UNATTRIBUTED, FRESHNESS, MONTHS, KEYS, AMOUNTS}
    assert set(story.first.checks) == every
    assert story.first.failed() == {COVERAGE, FRESHNESS}
    assert set(story.second.checks) == every
    assert story.second.failed() == {FAMILIES, CHANNELS, FRESHNESS, MONTHS}


def test_a_vanished_client_fails_the_coverage_check(story: Story) -> None:
    run = story.first
    metadata = run.metadata(COVERAGE)
    assert metadata["missing_client_days"] == (L - M).days + 1
    assert metadata["clients_failed"] == story.vanished
    assert sample_rows(metadata["sample"]) == [
        [story.vanished, str(M + timedelta(days=n))] for n in range(10)
    ]
    assert run.line(COVERAGE) in run.outcome.problems
    assert f"client {story.vanished}, HTTP 404" in " ".join(run.outcome.problems)
    assert not run.outcome.success


def test_rows_whose_categories_do_not_add_up_fail_the_families_check(story: Story) -> None:
    run = story.second
    quantity, paid, _, price = story.estimated[story.copied][L]  # as loaded by the first run
    lost_quantity, lost_paid, lost_price = story.lost_category
    assert run.metadata(FAMILIES)["mismatched_rows"] == 1
    [row] = sample_rows(run.metadata(FAMILIES)["sample"])
    assert row[:3] == [GONE, str(L), "pricing"]
    assert [int(cell) for cell in row[3:7]] == [
        quantity,
        quantity - lost_quantity,
        paid,
        paid - lost_paid,
    ]
    assert [Decimal(cell) for cell in row[7:]] == [price, price - lost_price]
    assert run.line(FAMILIES) in run.outcome.problems


def test_channel_rows_left_stale_by_a_revision_fail_the_channels_check(story: Story) -> None:
    # The second run fetched L again without channel usage: usage_daily took the final figures,
    # the channel rows kept the estimates they were loaded with.
    run = story.second
    revised = {
        c: (story.final[c][L], days[L])
        for c, days in sorted(story.estimated.items())
        if c != story.vanished and L in days and days[L] != story.final[c][L]
    }
    assert revised
    assert run.metadata(CHANNELS)["mismatched_client_days"] == len(revised)
    got = [
        [
            c,
            date.fromisoformat(day),
            Decimal(price),
            Decimal(channels_price),
            int(q),
            int(channels_q),
        ]
        for c, day, price, channels_price, q, channels_q in sample_rows(
            run.metadata(CHANNELS)["sample"]
        )
    ]
    assert got == [
        [c, L, final[3], estimate[3], final[0], estimate[0]]
        for c, (final, estimate) in revised.items()
    ]
    assert run.line(CHANNELS) in run.outcome.problems


def test_a_month_revised_after_it_was_loaded_fails_months_reconcile(story: Story) -> None:
    # The days before L keep their estimates; the month figure, fetched again with L, is final.
    run = story.second
    expected = []
    for c in sorted(story.final):
        if c == story.vanished:  # its month is incomplete: not reconciled
            continue
        days = {d: v for d, v in story.estimated[c].items() if d != L}
        days |= {d: v for d, v in story.final[c].items() if d == L}
        daily = sum(v[3] for v in days.values())
        api = sum(v[3] for v in story.final[c].values())
        quantity = sum(v[0] for v in days.values()) - sum(v[0] for v in story.final[c].values())
        if daily != api:
            expected.append(
                [c, M, story.stack.sim.client_currency(c), daily, api, daily - api, quantity]
            )
    assert len(expected) >= 2
    metadata = run.metadata(MONTHS)
    assert metadata["mismatched_client_months"] == len(expected)
    assert metadata["fetch_again"] == f"{M} .. {L}"
    got = [
        [c, date.fromisoformat(m), cur, Decimal(d), Decimal(a), Decimal(diff), int(q)]
        for c, m, cur, d, a, diff, q in sample_rows(metadata["sample"])
    ]
    assert got == expected
    assert run.line(MONTHS) in run.outcome.warnings  # a warning: run still exits 0 for it
    assert run.line(MONTHS) not in run.outcome.problems


def test_a_stale_warehouse_fails_the_freshness_check(story: Story, today: date) -> None:
    run = story.second
    oldest_fresh = today - timedelta(days=FRESHNESS_LAG_DAYS)
    assert run.metadata(FRESHNESS) == {
        "latest_day": str(L),
        "oldest_fresh_day": oldest_fresh.isoformat(),
    }
    assert run.line(FRESHNESS) in run.outcome.warnings
    assert run.line(FRESHNESS) not in run.outcome.problems


# Where each asset check is shown failing (the unattributed-usage warning needs a hidden channel,
# which test_channel_usage.py already loads).
RED_TESTS = {
    COVERAGE: (__name__, test_a_vanished_client_fails_the_coverage_check.__name__),
    FAMILIES: (__name__, test_rows_whose_categories_do_not_add_up_fail_the_families_check.__name__),
    CHANNELS: (
        __name__,
        test_channel_rows_left_stale_by_a_revision_fail_the_channels_check.__name__,
    ),
    UNATTRIBUTED: (
        "end_to_end.test_channel_usage",
        "test_a_channel_missing_from_the_listing_is_kept_as_unattributed",
    ),
    FRESHNESS: (__name__, test_a_stale_warehouse_fails_the_freshness_check.__name__),
    MONTHS: (__name__, test_a_month_revised_after_it_was_loaded_fails_months_reconcile.__name__),
    KEYS: ("defs.test_blocking_checks", "test_a_duplicated_client_day_fails_the_unique_keys_check"),
    AMOUNTS: ("defs.test_blocking_checks", "test_a_negative_price_fails_the_amounts_check"),
}


def test_every_asset_check_has_a_test_that_makes_it_fail() -> None:
    defs = build_definitions({"PIPELINE_START_DATE": "2024-01-01"})
    job = defs.resolve_job_def(REFRESH_JOB)
    checks = {key.name for key in job.asset_layer.asset_graph.asset_check_keys}
    assert checks == set(RED_TESTS)
    for module, test in RED_TESTS.values():
        assert callable(getattr(importlib.import_module(module), test))


def sample_rows(markdown: str) -> list[list[str]]:
    """The rows of a check's markdown `sample` (its header and rule left out)."""
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in markdown.splitlines()[2:]
    ]
