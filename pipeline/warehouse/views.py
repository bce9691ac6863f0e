"""Reporting views from sql/views/*.sql, one view per file named like the file."""

from pipeline.warehouse.schema import view_order, view_sql
from pipeline.warehouse.store import Warehouse


def create_views(wh: Warehouse) -> list[str]:
    """Create or replace every view now, e.g. after a change to sql/views (every write does it,
    see `ensure_schema`); return the view names in creation order."""
    with wh.write():
        pass
    return view_order(view_sql(wh.sql_dir))
