"""The partner's own balance: snapshots appended on every run, never replaced."""

import polars as pl

from pipeline.warehouse.frames import check_fits_table
from pipeline.warehouse.loads import LoadResult
from pipeline.warehouse.store import Warehouse, affected_rows

TABLE = "partner_balance_snapshots"


def load_partner_balance(wh: Warehouse, frame: pl.DataFrame) -> LoadResult:
    """Append one observation of the partner's balance (a row per currency).

    An observation never changes once logged, so loading the same one again adds nothing.
    """
    with wh.write() as con:
        check_fits_table(con, TABLE, frame)
        con.register("incoming_balance", frame)
        try:
            inserted = affected_rows(
                con.execute(
                    f"INSERT INTO {TABLE} BY NAME SELECT * FROM incoming_balance "
                    "ON CONFLICT DO NOTHING"
                )
            )
        finally:
            con.unregister("incoming_balance")
    return LoadResult(inserted={TABLE: inserted})
