from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from finance.book import query

from pipeline.errors import UserError, one_line
from pipeline.finance import (
    MarkupsFileError,
    load_finance_inputs,
    read_markups,
    refresh_finance_inputs,
)
from pipeline.settings import SettingsError
from pipeline.warehouse import Warehouse


def csv_file(tmp_path: Path, text: str, name: str = "markups.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_markups_with_and_without_valid_from(tmp_path):
    path = csv_file(
        tmp_path,
        "\ufeffclient_id, markup_pct ,valid_from\n"  # a spreadsheet's BOM and stray spaces
        "eu,10,\n"
        "\n"
        "eu,12.5,2024-07\n"
        '"us",-2.25,2025-01\n',
    )
    markups = read_markups(path)
    assert [(m.client_id, m.markup_pct, m.valid_from, m.source_line) for m in markups] == [
        ("eu", Decimal(10), None, 2),
        ("eu", Decimal("12.5"), date(2024, 7, 1), 4),
        ("us", Decimal("-2.25"), date(2025, 1, 1), 5),
    ]


def test_valid_from_column_is_optional(tmp_path):
    path = csv_file(tmp_path, "markup_pct,client_id\n7.25,a\n")
    assert [(m.client_id, m.markup_pct, m.valid_from) for m in read_markups(path)] == [
        ("a", Decimal("7.25"), None)
    ]


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("client_id,markup_pct,discount\na,1,2\n", 1, "unknown column 'discount'"),
        ("client_id\na\n", 1, "no column 'markup_pct'"),
        ("", 1, "no header line"),
        ("client_id,markup_pct\na,1\nb,ten\n", 3, "markup_pct 'ten' is not a number"),
        ("client_id,markup_pct\na,1e2\n", 2, "markup_pct '1e2' is not a number"),
        ("client_id,markup_pct\na,12.5%\n", 2, "markup_pct '12.5%' is not a number"),
        ("client_id,markup_pct\na,1.23456\n", 2, "more than 4 decimals"),
        ("client_id,markup_pct\na,-150\n", 2, "outside -100..99999.9999"),
        ("client_id,markup_pct\na,1\n,2\n", 3, "client_id is empty"),
        ("client_id,markup_pct\na,1,2\n", 2, "3 values, but the header has 2 columns"),
        ("client_id,markup_pct\na,1\nb,2\na,3\n", 4, "already has a markup from always on line 2"),
        (
            "client_id,markup_pct,valid_from\na,1,2024-07\na,2,\na,3,2024-07\n",
            4,
            "already has a markup from 2024-07 on line 2",
        ),
        (
            "client_id,markup_pct,valid_from\na,1,2024-13\n",
            2,
            "valid_from '2024-13' is not a month",
        ),
        ("client_id,markup_pct,valid_from\na,1,2024-07-01\n", 2, "of the form YYYY-MM"),
    ],
)
def test_bad_file_is_one_line_naming_file_and_line(tmp_path, text, line, problem):
    path = csv_file(tmp_path, text)
    with pytest.raises(MarkupsFileError) as caught:
        read_markups(path)
    message = one_line(caught.value)
    assert message == str(caught.value)
    assert message.startswith(f"{path}:{line}: ")
    assert problem in message
    assert isinstance(caught.value, UserError)  # the CLI prints it as one line, exit 2


def test_missing_file_names_the_variable(tmp_path):
    with pytest.raises(MarkupsFileError, match=r"PIPELINE_MARKUPS: no file at .*nope\.csv"):
        read_markups(tmp_path / "nope.csv")


def test_every_run_replaces_markups_and_settings(tmp_path):
    wh = Warehouse(tmp_path / "wh.sqlite")
    first = csv_file(tmp_path, "client_id,markup_pct\na,1\nb,2\n", "first.csv")
    refresh_finance_inputs(wh, first, default_markup_pct=Decimal("2.5"), low_balance_days=5)
    second = csv_file(tmp_path, "client_id,markup_pct,valid_from\nb,3,2024-01\n", "second.csv")
    result = refresh_finance_inputs(wh, second, default_markup_pct=Decimal(4), low_balance_days=9)
    assert (result.markups, result.clients_with_markup) == (1, 1)
    assert query(
        wh, "SELECT client_id, valid_from, markup_pct, source_file, source_line FROM client_markups"
    ) == [
        {
            "client_id": "b",
            "valid_from": date(2024, 1, 1),
            "markup_pct": Decimal(3),
            "source_file": str(second),
            "source_line": 2,
        }
    ]
    assert query(
        wh, "SELECT default_markup_pct, low_balance_days FROM finance_settings_in_force"
    ) == [{"default_markup_pct": Decimal(4), "low_balance_days": 9}]
    refresh_finance_inputs(wh, None, default_markup_pct=Decimal(0), low_balance_days=7)
    assert query(wh, "SELECT count(*) AS n FROM client_markups") == [{"n": 0}]


def test_bad_file_writes_nothing(tmp_path):
    wh = Warehouse(tmp_path / "wh.sqlite")
    good = csv_file(tmp_path, "client_id,markup_pct\na,1\n", "good.csv")
    refresh_finance_inputs(wh, good, default_markup_pct=Decimal(0), low_balance_days=7)
    before = wh.latest_snapshot()
    bad = csv_file(tmp_path, "client_id,markup_pct\na,1\na,2\n", "bad.csv")
    with pytest.raises(MarkupsFileError):
        refresh_finance_inputs(wh, bad, default_markup_pct=Decimal(5), low_balance_days=3)
    assert wh.latest_snapshot() == before


def test_default_markup_with_more_decimals_than_the_table_keeps_is_refused(tmp_path):
    wh = Warehouse(tmp_path / "wh.sqlite")
    with pytest.raises(SettingsError, match=r"PIPELINE_DEFAULT_MARKUP_PCT: .*more than 4 decimals"):
        load_finance_inputs(wh, [], default_markup_pct=Decimal("1.00001"), low_balance_days=7)
    assert not wh.exists()


def test_unchanged_inputs_are_not_written_again(tmp_path):
    wh = Warehouse(tmp_path / "wh.sqlite")
    path = csv_file(tmp_path, "client_id,markup_pct,valid_from\nb,3,2024-01\na,10,\nb,2,\n")
    settings = {"default_markup_pct": Decimal("2.5"), "low_balance_days": 5}
    assert refresh_finance_inputs(wh, path, **settings).written is True
    before = wh.latest_snapshot()
    assert refresh_finance_inputs(wh, path, **settings).written is False
    assert wh.latest_snapshot() == before
    settings["low_balance_days"] = 6
    assert refresh_finance_inputs(wh, path, **settings).written is True
