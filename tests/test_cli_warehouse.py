"""Paths that follow the user: `--warehouse` on every command that reads or writes the
warehouse, `tables` to see what is in one, and after the demo the default paths either work or
say exactly what to type."""

from __future__ import annotations

import shlex
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from finance.book import Day
from test_query_output import AUGUST, august_warehouse

from pipeline.cli import main
from pipeline.demo import next_steps
from pipeline.demo_paths import DEMO_MARKUPS, DEMO_PRICING, DEMO_WAREHOUSE, python_command
from pipeline.warehouse import DEFAULT_SQL_DIR

SETTINGS = ("WAREHOUSE", "DATA_PATH", "MARKUPS", "PRICING", "REPORT_DIR", "EXPORT_DIR", "RAW_DIR")


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    """A fresh working directory: no .env, none of the warehouse settings, a Dagster home."""
    monkeypatch.chdir(tmp_path)
    for name in SETTINGS:
        monkeypatch.delenv(f"PIPELINE_{name}", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    return tmp_path


def demo_built(folder: Path) -> Path:
    """A warehouse where the demo puts its own, with a client's August, and its finance files."""
    days = [Day("c1", AUGUST, "EUR", Decimal("1234.5678"))]
    wh = august_warehouse(folder / DEMO_WAREHOUSE, {"c1": ("Acme Ltd", days)})
    (folder / DEMO_MARKUPS).write_text("client_id,markup_pct,valid_from\nc1,12.5,\n")
    (folder / DEMO_PRICING).write_text("client_id,category,unit_price,currency,valid_from\n")
    return wh.path


def view_questions() -> dict[str, str]:
    """Each view file's name and its question's first line (to the question mark), as the file
    says it."""
    questions = {}
    for file in sorted((DEFAULT_SQL_DIR / "views").glob("*.sql")):
        first = file.read_text().splitlines()[0]
        assert first.startswith("-- Question: "), file
        questions[file.stem] = first.removeprefix("-- Question: ").split("?")[0]
    return questions


def test_tables_lists_every_view_with_its_question_and_every_table(here, capsys):
    assert main(["tables", "--warehouse", str(demo_built(here))]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    for view, question in view_questions().items():
        assert question in lines[view]  # its question, read from the file's header
    tables = sorted(file.stem for file in (DEFAULT_SQL_DIR / "tables").glob("*.sql"))
    assert set(tables) <= set(lines)
    assert "one row per client x UTC day with usage" in lines["usage_daily"]
    assert "no file in sql/ describes it" not in out and "Not in this warehouse" not in out


@pytest.mark.parametrize(
    "command",
    [
        ["query", "select 1"],
        ["tables"],
        ["report", "--month", "2024-08"],
        ["close", "--month", "2024-08"],
        ["connect-sql"],
        ["migrate", "--from", "old.duckdb"],
        ["run", "--start", "2024-08-01", "--end", "2024-08-01"],
        ["replay", "--start", "2024-08-01", "--end", "2024-08-01"],
    ],
)
def test_every_warehouse_command_takes_warehouse_and_uses_that_one(here, command, capsys):
    folder = here / "a folder"
    folder.mkdir()
    code = main([command[0], "--warehouse", str(folder), *command[1:]])
    # The settings' own check of the catalog path names the path given, not the default.
    assert code == 2
    assert capsys.readouterr().err.startswith(f"error: PIPELINE_WAREHOUSE={str(folder)!r} is a ")


@pytest.mark.parametrize("command", ["run", "replay", "migrate"])
def test_a_writing_command_writes_where_warehouse_says(here, command, today, monkeypatch, capsys):
    monkeypatch.setenv("D360_PARTNER_ID", "partner")  # run checks credentials are there first
    monkeypatch.setenv("D360_API_KEY", "key-0123456789")
    (here / "old.duckdb").write_bytes(b"")
    (here / "a file").write_text("")
    target = here / "a file" / "warehouse.sqlite"
    day = (today - timedelta(days=1)).isoformat()
    arguments = ["--from", "old.duckdb"] if command == "migrate" else ["--start", day, "--end", day]
    assert main([command, "--warehouse", str(target), *arguments]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot create the warehouse catalog folder {here / 'a file'} ")


def test_connect_sql_and_query_read_the_warehouse_named(here, capsys):
    wh = demo_built(here)
    assert main(["connect-sql", "--warehouse", str(wh)]) == 0
    assert f"ATTACH 'ducklake:sqlite:{wh}' AS warehouse (READ_ONLY);" in capsys.readouterr().out
    assert main(["query", "--warehouse", str(wh), "select name from clients"]) == 0
    assert "Acme Ltd" in capsys.readouterr().out


def test_after_the_demo_a_missing_default_says_the_command_that_reads_the_demo(here, capsys):
    demo_built(here)
    assert main(["query", "select count(*) as clients from clients"]) == 2
    err = capsys.readouterr().err
    missing = here / "data" / "warehouse.sqlite"
    assert err.startswith(f"error: no warehouse at {missing} (data {missing.parent}/")
    assert err.count("\n") == 1
    typed = err.split(", or use the demo's: ")[1].strip()
    assert typed == (
        f"{python_command()} -m pipeline query --warehouse {DEMO_WAREHOUSE} "
        "'select count(*) as clients from clients'"
    )
    assert main(shlex.split(typed)[3:]) == 0  # as written, it works
    assert "│       1 │" in capsys.readouterr().out


def test_a_finance_command_on_the_demo_names_its_finance_files(here, capsys):
    demo_built(here)
    assert main(["report", "--month", "2024-08"]) == 2
    typed = capsys.readouterr().err.split(", or use the demo's: ")[1].strip()
    # Without them, report would load "no markups" into the demo's warehouse.
    assert typed.startswith(f"PIPELINE_MARKUPS={DEMO_MARKUPS} PIPELINE_PRICING={DEMO_PRICING} ")


def test_a_warehouse_named_but_missing_gets_no_guess(here, capsys):
    demo_built(here)
    assert main(["tables", "--warehouse", "elsewhere.sqlite"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: no warehouse at {here / 'elsewhere.sqlite'} ")
    assert "demo" not in err


def test_each_command_the_demo_suggests_works_as_written(here, monkeypatch, capsys):
    demo_built(here)
    commands = [
        line.strip()
        for line in next_steps(date(2024, 9, 1)).splitlines()
        if f"{python_command()} -m pipeline " in line
    ]
    assert len(commands) >= 8
    for command in commands:
        words = shlex.split(command.split("(this prints it: ")[-1].rstrip("):"))
        with monkeypatch.context() as env:
            while "=" in words[0]:  # NAME=value before the command, as a shell reads it
                name, value = words.pop(0).split("=", 1)
                env.setenv(name, value)
            assert words[:3] == [python_command(), "-m", "pipeline"]
            assert main(words[3:]) == 0, command
    out = capsys.readouterr().out
    assert "usage-report-2024-08.html" in out and (here / "statement.csv").is_file()
