"""What each table and view is for, in one line, read from the header comment of its SQL file.

The SQL files are the one place this is written: a view's file opens with `-- Question: ...?`,
a table's with `-- <name>: <one sentence>.`, the line possibly continued on the next comment
lines. Only the header is read (the comment lines before the first statement).
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.warehouse.schema import DEFAULT_SQL_DIR, sql_files

# A view's question ends at its question mark; a table's sentence at a full stop before a space.
_VIEW_LINE = re.compile(r"Question:\s*(?P<line>.+?\?)(?:\s|$)")
_TABLE_LINE = re.compile(r"\w+:\s*(?P<line>.+?\.)(?:\s|$)")


def sql_descriptions(sql_dir: Path = DEFAULT_SQL_DIR) -> dict[str, tuple[str, str]]:
    """Name -> (kind, one line) of every table and view file; kind is "table" or "view", the
    line '' when a file's header does not say it the usual way."""
    found: dict[str, tuple[str, str]] = {}
    for kind, pattern in (("table", _TABLE_LINE), ("view", _VIEW_LINE)):
        for file in sql_files(sql_dir, f"{kind}s"):
            match = pattern.match(_header(file))
            found[file.stem] = (kind, match["line"] if match else "")
    return found


def _header(file: Path) -> str:
    """The file's opening comment lines, joined, their `--` markers left out."""
    lines = []
    for line in file.read_text().splitlines():
        if not line.startswith("--"):
            break
        lines.append(line.removeprefix("--").strip())
    return " ".join(lines)
