"""Reporting views from sql/views/*.sql, one view per file named like the file."""

import re
from graphlib import TopologicalSorter
from pathlib import Path

from pipeline.warehouse.schema import sql_files
from pipeline.warehouse.store import Warehouse

_COMMENT = re.compile(r"--[^\n]*")


def create_views(wh: Warehouse, sql_dir: Path | None = None) -> list[str]:
    """Create or replace every view (one copy-on-write write); return names in creation order."""
    files = {file.stem: file.read_text() for file in sql_files(sql_dir or wh.sql_dir, "views")}
    order = view_order(files)
    with wh.write() as con:
        for name in order:
            con.execute(files[name])
    return order


def view_order(views: dict[str, str]) -> list[str]:
    """Names ordered so a view comes after the views its SQL mentions (comments ignored)."""
    words = {name: set(re.findall(r"\w+", _COMMENT.sub("", sql))) for name, sql in views.items()}
    graph = {
        name: {other for other in views if other != name and other in words[name]}
        for name in sorted(views)
    }
    return list(TopologicalSorter(graph).static_order())
