"""The finance views over real HTTP, against figures computed here from the simulator's own rows.

One warehouse, three refreshes, read by every test. The simulator's today is pinned two days
after the last day L of a month M, so M's last days are still estimates when M is loaded:
1. the last ten days of the month before M, and M in full (days and month figure agree);
2. four days later the estimates are final; L alone is fetched again, and with it M's month
   figure, while the days before L keep their estimates;
3. M in full again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from end_to_end.stack import YESTERDAY, Stack, small_options, stack_env

from pipeline.simulator import run_simulator
from pipeline.usage_load import month_end
from pipeline.warehouse import Warehouse

M = (YESTERDAY - timedelta(days=45)).replace(day=1)
L = month_end(M)
FIRST = M - timedelta(days=10)
BEFORE = FIRST.replace(day=1)  # the month before M, ten days of it loaded
DEFAULT_MARKUP = Decimal("2")

Figures = tuple[int, int, int, Decimal]  # quantity, paid_quantity, free_quantity, total_price


@dataclass
class Loaded:
    stack: Stack
    markups: dict[str, list[tuple[date | None, Decimal]]]
    estimated: dict[str, dict[date, Figures]]
    """The days as the API served them at the first refresh."""
    final: dict[str, dict[date, Figures]]
    month_figures: list[dict[tuple[str, date], Decimal]]
    """(client, month) -> the API's month total_price, as served at each refresh."""
    reconciliation: list[dict[tuple[str, date], dict]]
    """usage_reconciliation_monthly after each refresh."""


def served_days(sim: object) -> dict[str, dict[date, Figures]]:
    return {
        client_id: {
            date.fromisoformat(row["period_date"][:10]): (
                int(row["quantity"]),
                int(row["paid_quantity"]),
                int(row["free_quantity"]),
                Decimal(row["total_price"]),
            )
            for row in sim.expected_usage(client_id, FIRST, L)
        }
        for client_id in sim.client_ids()
    }


def served_month_figures(sim: object) -> dict[tuple[str, date], Decimal]:
    return {
        (client_id, date.fromisoformat(row["period_date"][:10])): Decimal(row["total_price"])
        for client_id in sim.client_ids()
        for row in sim.expected_usage(client_id, BEFORE, L, granularity="month")
    }


def view(path: Path, sql: str) -> list[dict]:
    with Warehouse(path).read() as con:
        result = con.execute(sql)
        names = [column[0] for column in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def reconciliation(stack: Stack) -> dict[tuple[str, date], dict]:
    return {
        (row.pop("client_id"), row.pop("month")): row
        for row in view(
            stack.warehouse,
            "SELECT client_id, month, currency, daily_total_price, api_month_total_price, "
            "difference, days_covered, status FROM usage_reconciliation_monthly",
        )
    }


def write_markups(path: Path, clients: list[str]) -> dict[str, list[tuple[date | None, Decimal]]]:
    """A price change from M on for the first client, a markup from M on only for the second;
    the others take the default."""
    markups = {
        clients[0]: [(None, Decimal("10")), (M, Decimal("12.5"))],
        clients[1]: [(M, Decimal("7.25"))],
    }
    lines = ["client_id,markup_pct,valid_from"] + [
        f"{client_id},{pct},{valid_from.strftime('%Y-%m') if valid_from else ''}"
        for client_id, rows in markups.items()
        for valid_from, pct in rows
    ]
    path.write_text("\n".join(lines) + "\n")
    return markups


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Iterator[Loaded]:
    tmp = tmp_path_factory.mktemp("finance")
    with run_simulator(
        small_options(clients=4, balance_rate=None, today=L + timedelta(days=2))
    ) as sim:
        markups = write_markups(tmp / "markups.csv", sim.client_ids())
        env = stack_env(
            sim,
            tmp,
            PIPELINE_WINDOW_DAYS="31",
            PIPELINE_MARKUPS=str(tmp / "markups.csv"),
            PIPELINE_DEFAULT_MARKUP_PCT=str(DEFAULT_MARKUP),
        )
        stack = Stack(sim, env, tmp)
        estimated, month_figures, views = served_days(sim), [], []
        for start, end in [(FIRST, L), (L, L), (M, L)]:
            if (start, end) == (L, L):
                sim.set_today(L + timedelta(days=6))  # M's estimates are final now
            outcome = stack.refresh(start, end)
            assert not outcome.problems
            month_figures.append(served_month_figures(sim))
            views.append(reconciliation(stack))
        yield Loaded(stack, markups, estimated, served_days(sim), month_figures, views)


def days_in(figures: dict[date, Figures], month: date) -> list[Figures]:
    return [values for day, values in figures.items() if day.replace(day=1) == month]


def expected_reconciliation(
    loaded: Loaded, step: int, days: dict[str, dict[date, Figures]]
) -> dict[tuple[str, date], dict]:
    sim = loaded.stack.sim
    expected = {}
    for client_id in sim.client_ids():
        if not days_in(days[client_id], M) and (client_id, M) not in loaded.month_figures[step]:
            continue  # no usage on either side: no row
        daily = sum(values[3] for values in days_in(days[client_id], M))
        api = loaded.month_figures[step].get((client_id, M), Decimal(0))
        expected[client_id, M] = {
            "currency": sim.client_currency(client_id),
            "daily_total_price": daily,
            "api_month_total_price": api,
            "difference": daily - api,
            "days_covered": L.day,
            "status": "match" if daily == api else "mismatch",
        }
    return expected


def in_month(loaded: Loaded, step: int, month: date) -> dict[tuple[str, date], dict]:
    return {key: row for key, row in loaded.reconciliation[step].items() if key[1] == month}


def test_a_month_loaded_with_its_estimates_matches_its_month_figure(loaded: Loaded) -> None:
    expected = expected_reconciliation(loaded, 0, loaded.estimated)
    assert in_month(loaded, 0, M) == expected
    assert {row["status"] for row in expected.values()} == {"match"}
    assert all(row["daily_total_price"] > 0 for row in expected.values())


def test_a_month_revised_after_it_was_loaded_is_a_mismatch_until_fetched_again(
    loaded: Loaded,
) -> None:
    # After step 2 the days before L are still the estimates of step 1, L and the month final.
    days = {
        client_id: {
            **{day: values for day, values in loaded.estimated[client_id].items() if day < L},
            **{day: values for day, values in loaded.final[client_id].items() if day == L},
        }
        for client_id in loaded.final
    }
    revised = expected_reconciliation(loaded, 1, days)
    assert in_month(loaded, 1, M) == revised
    mismatched = {key: row for key, row in revised.items() if row["status"] == "mismatch"}
    assert len(mismatched) >= 2
    assert all(row["difference"] < 0 for row in mismatched.values())  # estimates run short

    refetched = expected_reconciliation(loaded, 2, loaded.final)
    assert in_month(loaded, 2, M) == refetched
    assert {row["status"] for row in refetched.values()} == {"match"}
    assert loaded.month_figures[2] == loaded.month_figures[1] != loaded.month_figures[0]


def test_a_partly_fetched_month_is_incomplete_against_its_whole_month_figure(
    loaded: Loaded,
) -> None:
    sim = loaded.stack.sim
    expected = {}
    for client_id in sim.client_ids():
        if client_id == idle(loaded):
            continue
        daily = sum(values[3] for values in days_in(loaded.final[client_id], BEFORE))
        api = loaded.month_figures[0][client_id, BEFORE]
        expected[client_id, BEFORE] = {
            "currency": sim.client_currency(client_id),
            "daily_total_price": daily,
            "api_month_total_price": api,
            "difference": daily - api,
            "days_covered": 10,
            "status": "incomplete",
        }
        assert 0 < daily < api
    assert in_month(loaded, 2, BEFORE) == expected


def idle(loaded: Loaded) -> str:
    """The client without usage in the loaded days."""
    [client_id] = [c for c, days in loaded.final.items() if not days]
    return client_id


def test_a_client_without_usage_has_no_statement_and_nothing_to_reconcile(loaded: Loaded) -> None:
    client_id = idle(loaded)
    assert not any(key[0] == client_id for key in loaded.month_figures[2])
    assert not any(key[0] == client_id for key in loaded.reconciliation[2])
    statements = view(
        loaded.stack.warehouse,
        f"SELECT * FROM client_monthly_statement WHERE client_id = '{client_id}'",
    )
    assert statements == []


def markup_in_force(loaded: Loaded, client_id: str, month: date) -> Decimal:
    rows = [
        (valid_from or date.min, pct)
        for valid_from, pct in loaded.markups.get(client_id, [])
        if valid_from is None or valid_from <= month
    ]
    return max(rows)[1] if rows else DEFAULT_MARKUP


def test_statements_per_client_month_and_currency_across_a_month_boundary(loaded: Loaded) -> None:
    sim = loaded.stack.sim
    expected = {}
    for client_id in sim.client_ids():
        for month, days_covered in [(BEFORE, 10), (M, L.day)]:
            days = days_in(loaded.final[client_id], month)
            if not days:
                continue
            cost = sum(values[3] for values in days)
            markup = markup_in_force(loaded, client_id, month)
            expected[client_id, month] = {
                "currency": sim.client_currency(client_id),
                "quantity": sum(values[0] for values in days),
                "paid_quantity": sum(values[1] for values in days),
                "free_quantity": sum(values[2] for values in days),
                "cost": cost,
                "markup_pct": markup,
                "billable_amount": (cost * (1 + markup / 100)).quantize(
                    Decimal("0.01"), ROUND_HALF_UP
                ),
                "days_covered": days_covered,
                "month_complete": month == M,
            }
    got = {
        (row.pop("client_id"), row.pop("month")): row
        for row in view(
            loaded.stack.warehouse,
            "SELECT client_id, month, currency, quantity, paid_quantity, free_quantity, cost, "
            "markup_pct, billable_amount, days_covered, month_complete "
            "FROM client_monthly_statement",
        )
    }
    assert got == expected
    assert len({row["currency"] for row in expected.values()}) == 2
    first, second = sim.client_ids()[:2]
    assert [expected[first, BEFORE]["markup_pct"], expected[first, M]["markup_pct"]] == [10, 12.5]
    assert [expected[second, BEFORE]["markup_pct"], expected[second, M]["markup_pct"]] == [2, 7.25]
