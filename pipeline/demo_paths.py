"""Where the demo keeps its files, and any command line typed to work on them.

The demo writes under data/demo/ of the working directory. The commands a newcomer types next,
the ones the demo's closing text suggests and the one a missing default warehouse points to, all
come from `demo_command`, so they are written one way and work as written. This module is light
on purpose: the CLI reads it before anything heavy (Dagster) is imported.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

DEMO_DIR = Path("data/demo")
DEMO_WAREHOUSE = DEMO_DIR / "warehouse.sqlite"
DEMO_EXPORT = DEMO_DIR / "export"
DEMO_REPORTS = DEMO_DIR / "reports"
DEMO_MARKUPS = DEMO_DIR / "markups.csv"
DEMO_PRICING = DEMO_DIR / "pricing.csv"
# `report` and `close` load PIPELINE_MARKUPS and PIPELINE_PRICING into the warehouse first: run
# on the demo without them, they would replace its markups and prices by none.
FINANCE_COMMANDS = frozenset({"report", "close"})


def demo_finance_settings() -> dict[str, str]:
    """The demo's settings a finance command needs besides its warehouse."""
    return {
        "PIPELINE_MARKUPS": str(DEMO_MARKUPS),
        "PIPELINE_PRICING": str(DEMO_PRICING),
        "PIPELINE_REPORT_DIR": str(DEMO_REPORTS),
    }


def demo_command(argv: Sequence[str]) -> str:
    """`argv` (a pipeline command and its arguments) on the demo's warehouse, as a shell line
    for the working directory."""
    command, *rest = argv
    words = [python_command(), "-m", "pipeline", command, "--warehouse", str(DEMO_WAREHOUSE)]
    settings = demo_finance_settings() if command in FINANCE_COMMANDS else {}
    assignments = [f"{name}={shell_word(value)}" for name, value in settings.items()]
    return " ".join([*assignments, *map(shell_word, [*words, *rest])])


def shell_word(word: str) -> str:
    """`word` quoted for a POSIX shell; in double quotes when it holds single quotes (SQL
    literals) and nothing a shell expands inside double quotes, since that reads as typed."""
    if "'" in word and not set(word) & set('"$`\\!'):
        return f'"{word}"'
    return shlex.quote(word)


def python_command() -> str:
    """This interpreter as typed from the working directory: relative when inside it (what
    `make` and uv create is .venv/bin/python), else its absolute path."""
    interpreter = Path(sys.executable).absolute()  # not resolved: a venv's python is a link
    try:
        relative = interpreter.relative_to(Path.cwd())
    except ValueError:
        return str(interpreter)
    # A bare name would be looked up on PATH instead.
    return str(relative) if relative.parent != Path() else f"./{relative}"
