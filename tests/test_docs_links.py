"""The documentation: a short README, links between the pages that resolve (files and
`#anchor`s, by GitHub's slug rules), and every setting documented in docs/operations.md."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from bench.__main__ import DOC as BENCH_DOC
from bench.__main__ import END as BENCH_END
from bench.__main__ import START as BENCH_START
from pipeline import clock
from pipeline.settings import Settings
from pipeline.warehouse.store import THREADS_VARIABLE

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
README_MOST_LINES = 250

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# [text](target) and ![alt](target); a target has no spaces in these pages.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)\)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # https:, mailto:, ...


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor of a heading (github-slugger): the rendered text lower-cased, punctuation
    and symbols dropped (letters, digits, `_`, `-` and spaces stay), each space a `-`."""
    text = CODE_SPAN.sub(lambda m: m.group(2), heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link's text only
    text = re.sub(r"(\*+|(?<!\w)_+|_+(?!\w))", "", text)  # emphasis marks, not snake_case
    kept = "".join(
        ch
        for ch in text.lower()
        if ch in "-_ " or unicodedata.category(ch)[0] in "LNM"  # letters, numbers, marks
    )
    return kept.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor; a repeated one gets -1, -2, ... as on GitHub."""
    seen: Counter[str] = Counter()
    found = set()
    for line in prose_lines(page.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        found.add(f"{base}-{seen[base]}" if seen[base] else base)
        seen[base] += 1
    return found


def relative_links(page: Path) -> list[str]:
    targets = []
    for line in prose_lines(page.read_text(encoding="utf-8")):
        line = CODE_SPAN.sub("", line)
        targets += [t for t in LINK.findall(line) if not EXTERNAL.match(t)]
    return targets


def test_the_slug_rules_are_githubs():
    assert slug("Memory of a year's run (`python -m pipeline run`)") == (
        "memory-of-a-years-run-python--m-pipeline-run"
    )
    assert slug("How a run is saved: one snapshot per batch") == (
        "how-a-run-is-saved-one-snapshot-per-batch"
    )
    assert slug("Batch size (`PIPELINE_BATCH_CLIENTS`)") == "batch-size-pipeline_batch_clients"
    assert slug("Storage: what is where, what a reader sees") == (
        "storage-what-is-where-what-a-reader-sees"
    )


def test_the_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MOST_LINES, f"README.md has {len(lines)} lines"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path):
    broken = []
    for target in relative_links(page):
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        if not resolved.exists():
            broken.append(f"{target}: no file {resolved}")
        elif anchor and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with anchor #{anchor} in {resolved.name}")
    assert broken == []


def test_the_pages_link_each_other():
    linked = {
        (README.parent / t.partition("#")[0]).resolve()
        for t in relative_links(README)
        if t.partition("#")[0]
    }
    pages = set(DOCS.glob("*.md"))
    assert {p.resolve() for p in pages} - linked == set()  # each page is linked from the README
    for page in pages:  # ... and starts with its purpose and a link back
        first_paragraph = page.read_text(encoding="utf-8").split("\n\n")[1]
        assert "](../README.md)" in first_paragraph, page.name


def documented_variables() -> set[str]:
    """The variables named in the first column of docs/operations.md's configuration table."""
    lines = prose_lines((DOCS / "operations.md").read_text(encoding="utf-8"))
    start = lines.index("## Configuration")
    section = lines[start + 1 :]
    section = section[: next(i for i, line in enumerate(section) if line.startswith("## "))]
    rows = [line for line in section if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z0-9_]+)`", row.split("|")[1])}


def test_every_setting_is_in_the_configuration_table():
    variables = {field.alias for field in Settings.model_fields.values()}
    documented = documented_variables()
    assert "D360_API_KEY" in variables and "DAGSTER_HOME" in variables
    assert variables - documented == set()
    # ... and the table names nothing else but the process-environment ones: the pinned date,
    # which pipeline.clock reads, and DuckDB's threads, which the warehouse store reads.
    assert documented - variables == {clock.TODAY_VARIABLE, THREADS_VARIABLE}


def test_the_benchmarks_rewrite_their_page_between_the_markers():
    assert BENCH_DOC.resolve() == (DOCS / "benchmarks.md").resolve()
    page = BENCH_DOC.read_text(encoding="utf-8")
    assert (page.count(BENCH_START), page.count(BENCH_END)) == (1, 1)
    assert page.index(BENCH_START) < page.index(BENCH_END)
    assert BENCH_START not in README.read_text(encoding="utf-8")
