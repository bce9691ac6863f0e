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
    with wh.write("partner balance") as con:
        check_fits_table(con, TABLE, frame)
        con.register("incoming_balance", frame)
        try:
            # DuckLake has no keys to skip duplicates on: rows already logged are left out here.
            inserted = affected_rows(
                con.execute(
                    f"INSERT INTO {TABLE} BY NAME SELECT * FROM incoming_balance AS i "
                    f"WHERE NOT EXISTS (SELECT 1 FROM {TABLE} AS t "
                    "WHERE t.observed_at = i.observed_at AND t.currency = i.currency)"
                )
            )
        finally:
            con.unregister("incoming_balance")
    return LoadResult(inserted={TABLE: inserted})
