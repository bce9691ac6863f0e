"""The targets table: each scale benchmark records its rows, the table gathers them.

A benchmark calls `record(name, rows)`; the rows are kept in `bench/results/<name>.targets.json`,
so the table shows the latest figures of every target even when only one benchmark was run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.common import RESULTS, table


@dataclass(frozen=True)
class Target:
    what: str
    target: str
    measured: str
    met: bool | None
    """None: measured, but there is nothing to pass or fail (a reference figure)."""
    note: str = ""
    """When missed: the measured bottleneck."""


def record(name: str, rows: list[Target], results: Path = RESULTS) -> None:
    results.mkdir(exist_ok=True)
    text = json.dumps([asdict(row) for row in rows], indent=1)
    (results / f"{name}.targets.json").write_text(text + "\n", encoding="utf-8")


def gathered(names: tuple[str, ...], results: Path = RESULTS) -> list[Target]:
    rows: list[Target] = []
    for name in names:
        path = results / f"{name}.targets.json"
        if path.is_file():
            rows += [Target(**row) for row in json.loads(path.read_text(encoding="utf-8"))]
    return rows


def targets_table(rows: list[Target]) -> str:
    def verdict(row: Target) -> str:
        if row.met is None:
            return "-"
        return "met" if row.met else "**missed**"

    body = table(
        ["what", "target", "measured here", "verdict"],
        [(row.what, row.target, row.measured, verdict(row)) for row in rows],
    )
    missed = [row for row in rows if row.met is False]
    notes = [f"- **Missed: {row.what}.** {row.note}" for row in missed if row.note]
    return "\n\n".join([body, *(["\n".join(notes)] if notes else [])])
