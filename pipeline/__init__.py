"""Usage and billing warehouse for 360dialog partners.

`open_warehouse()` is the warehouse from Python: a DuckDB connection with it attached, read-only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb


def open_warehouse(read_only: bool = True, **options: Any) -> duckdb.DuckDBPyConnection:
    """See `pipeline.connect.open_warehouse`; imported on first use, so `import pipeline` (and
    the CLI's --help) stays light."""
    from pipeline.connect import open_warehouse as connect

    return connect(read_only, **options)
