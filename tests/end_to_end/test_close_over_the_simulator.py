"""`python -m pipeline close` on a month loaded over real HTTP: statements equal to the
simulator's own figures priced with the default markup, numbered, and a second close a no-op."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from dates import last_ended_month
from end_to_end.expected import expected_usage
from end_to_end.stack import Stack, small_options, stack_env

from pipeline.cli import main
from pipeline.simulator import run_simulator
from pipeline.warehouse import Warehouse

MARKUP = Decimal("7.5")


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_close_freezes_the_month_loaded_over_the_api(tmp_path: Path, today, monkeypatch, capsys):
    first, last = last_ended_month(today)
    with run_simulator(small_options(clients=3, history_days=90, balance_rate=None)) as sim:
        env = stack_env(
            sim,
            tmp_path,
            PIPELINE_START_DATE=(first - timedelta(days=5)).isoformat(),
            PIPELINE_DEFAULT_MARKUP_PCT=str(MARKUP),
        )
        assert Stack(sim, env, tmp_path).refresh(first, last).success
        _, categories = expected_usage(sim, first, last)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)

    assert main(["close", "--month", f"{first:%Y-%m}"]) == 0
    printed = capsys.readouterr().out.splitlines()

    # Each category line is rounded on its own: sum them per client.
    by_category: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for (client_id, _, category), (_, _, price) in categories.items():
        by_category[client_id, category] += price
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for (client_id, _), cost in by_category.items():
        totals[client_id] += cents(cost * (1 + MARKUP / 100))
    with Warehouse(env["PIPELINE_WAREHOUSE"]).read() as con:
        statements = con.execute(
            "SELECT statement_number, client_id, currency, total FROM statements ORDER BY 1"
        ).fetchall()
        currencies = dict(
            con.execute(
                "SELECT client_id, any_value(currency) FROM usage_daily GROUP BY 1"
            ).fetchall()
        )
    billed = sorted(totals)
    assert statements == [
        (f"{first.year}-{n:06d}", client_id, currencies[client_id], totals[client_id])
        for n, client_id in enumerate(billed, start=1)
    ]
    folder = tmp_path / "reports" / "statements" / f"{first:%Y-%m}"
    assert printed[0] == f"{first:%Y-%m} closed: {len(billed)} statements in {folder}"
    assert [line.split()[-1] for line in printed[1:-1]] == [
        f"statement-{number}.pdf" for number, *_ in statements
    ]
    # The statements went to the exports with their month.
    assert printed[-1].startswith("exports: ") and printed[-1].endswith(str(tmp_path / "export"))
    assert all((folder / f"statement-{number}.pdf").is_file() for number, *_ in statements)

    assert main(["close", "--month", f"{first:%Y-%m}"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{first:%Y-%m} was already closed: {len(billed)} statements in {folder}"
    )


def test_a_mistyped_month_is_one_line(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["close", "--month", "13-2024"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "error: argument --month: '13-2024' is not a month of the form YYYY-MM "
        "(see python -m pipeline close --help)"
    ]
