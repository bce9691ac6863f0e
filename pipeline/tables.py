"""`python -m pipeline tables`: each table and view in the warehouse, with what it is for.

The lines come from the header comments of sql/ (pipeline.warehouse.descriptions), the names
from the warehouse itself, so the list shows what this warehouse holds: a view a newer sql/ adds
is named as not there yet, and an object no file describes still shows.
"""

from __future__ import annotations

from pipeline.warehouse import Warehouse
from pipeline.warehouse.descriptions import sql_descriptions

UNDESCRIBED = "(no file in sql/ describes it)"
HEADINGS = {"table": "Tables: what one row is", "view": "Views: the question each answers"}


def run_tables(wh: Warehouse) -> int:
    print(tables_text(wh), end="")
    return 0


def tables_text(wh: Warehouse) -> str:
    described = sql_descriptions(wh.sql_dir)
    with wh.read() as con:
        present = con.execute(
            "SELECT table_name, 'table' FROM duckdb_tables() "
            "WHERE database_name = current_database() "
            "UNION ALL SELECT view_name, 'view' FROM duckdb_views() "
            "WHERE database_name = current_database() AND NOT internal ORDER BY 1"
        ).fetchall()
    width = max((len(name) for name, _ in present), default=0)
    lines = []
    for kind, heading in HEADINGS.items():
        names = [name for name, found in present if found == kind]
        lines.append(f"{heading} ({len(names)})")
        for name in names:
            line = described.get(name, (kind, ""))[1] or UNDESCRIBED
            lines.append(f"  {name:<{width}}  {line}")
    missing = sorted(set(described) - {name for name, _ in present})
    if missing:
        lines.append(f"Not in this warehouse yet (the next run creates them): {', '.join(missing)}")
    return "\n".join(lines) + "\n"
