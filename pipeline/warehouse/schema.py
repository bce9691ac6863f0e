"""The warehouse schema: tables from sql/tables/, views from sql/views/, and the live tables.

DuckLake tables take no PRIMARY KEY, UNIQUE or CHECK constraint, so each table file declares its
rules in header comments instead (`-- unique key: a, b`, `-- never negative: x, y`): loads check
them before they insert, and blocking asset checks check the tables after (`TableRules`).
"""

import functools
import re
from dataclasses import dataclass
from graphlib import TopologicalSorter
from importlib import resources
from pathlib import Path

import duckdb


def packaged_sql_dir() -> Path:
    """The DDL and views: `pipeline/sql` inside an installed wheel (pyproject.toml force-includes
    the repository's top-level sql/ there), else sql/ of the checkout this package runs from."""
    packaged = resources.files("pipeline") / "sql"
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "sql"


DEFAULT_SQL_DIR = packaged_sql_dir()


def sql_files(sql_dir: Path, kind: str) -> list[Path]:
    """The `*.sql` files of `sql_dir/kind` (tables or views), in name order; one object per file."""
    files = sorted((sql_dir / kind).glob("*.sql"))
    if not files:
        raise FileNotFoundError(f"no {kind} SQL files in {sql_dir / kind}")
    return files


_COMMENT = re.compile(r"--[^\n]*")


def ensure_schema(
    con: duckdb.DuckDBPyConnection, sql_dir: Path = DEFAULT_SQL_DIR, *, replace_views: bool = False
) -> list[str]:
    """Create every missing table and view (or, with `replace_views`, replace every view);
    return the view names in creation order. Only what is created changes the lake: a write
    that finds the schema complete adds nothing to its snapshot."""
    ensure_tables(con, sql_dir)
    views = view_sql(sql_dir)
    order = view_order(views)
    present = {
        name
        for (name,) in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE database_name = current_database()"
        ).fetchall()
    }
    for name in order:
        if replace_views or name not in present:
            con.execute(views[name])
    return order


def ensure_tables(con: duckdb.DuckDBPyConnection, sql_dir: Path = DEFAULT_SQL_DIR) -> None:
    """Create every missing table of sql/tables (idempotent)."""
    for file in sql_files(sql_dir, "tables"):
        con.execute(file.read_text())


def view_sql(sql_dir: Path) -> dict[str, str]:
    """View name -> its CREATE OR REPLACE VIEW statement (one view per file, named like it)."""
    return {file.stem: file.read_text() for file in sql_files(sql_dir, "views")}


def view_order(views: dict[str, str]) -> list[str]:
    """Names ordered so a view comes after the views its SQL mentions (comments ignored)."""
    words = {name: set(re.findall(r"\w+", _COMMENT.sub("", sql))) for name, sql in views.items()}
    graph = {
        name: {other for other in views if other != name and other in words[name]}
        for name in sorted(views)
    }
    return list(TopologicalSorter(graph).static_order())


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of a table of the current database, in table order."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = current_schema() "
        "AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return dict(rows)


@dataclass(frozen=True)
class TableRules:
    """What a table file declares that DuckLake cannot enforce."""

    unique_key: tuple[str, ...] = ()
    never_negative: tuple[str, ...] = ()


_RULE = re.compile(r"^-- (unique key|never negative): (.+)$", re.MULTILINE)


@functools.cache
def table_rules(sql_dir: Path = DEFAULT_SQL_DIR) -> dict[str, TableRules]:
    """Table name -> its declared rules, for every table file of `sql_dir`."""
    rules = {}
    for file in sql_files(sql_dir, "tables"):
        found = {
            kind: tuple(c.strip() for c in columns.split(","))
            for kind, columns in _RULE.findall(file.read_text())
        }
        rules[file.stem] = TableRules(found.get("unique key", ()), found.get("never negative", ()))
    return rules
