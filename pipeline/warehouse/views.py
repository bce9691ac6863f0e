"""Reporting views from sql/views/*.sql, one view per file named like the file."""

from pipeline.warehouse.schema import ensure_schema
from pipeline.warehouse.store import Warehouse


def create_views(wh: Warehouse) -> list[str]:
    """Create or replace every view now, in one snapshot, so a change to sql/views reaches the
    warehouse (writes only create missing ones); return the view names in creation order."""
    with wh.write("views") as con:
        return ensure_schema(con, wh.sql_dir, replace_views=True)
