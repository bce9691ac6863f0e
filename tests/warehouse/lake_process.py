"""Another process on the lake, driven line by line over stdin/stdout by the storage tests:

`python lake_process.py read` holds a read-only transaction: on `look` it prints what it sees, on
`next` it ends the transaction, starts a new one and prints what that one sees.

`python lake_process.py load N` commits batches of one client each (clients c0, c1, ...) of a
usage load; before committing batch N it prints `in flight` and waits, its transaction open,
for a line on stdin (the test kills it there).

The warehouse comes from the environment (PIPELINE_WAREHOUSE, PIPELINE_DATA_PATH, ...).
"""

from __future__ import annotations

import sys
from datetime import date

import duckdb
import polars as pl
from warehouse.wh_frames import BY_CATEGORY, DAILY, T0, day, frame

from pipeline.settings import Settings, read_environment
from pipeline.warehouse import UsageLoad, coverage_frame
from pipeline.warehouse.usage_loads import DAY_FACTS, replace_usage

DAY = date(2024, 3, 1)


def seen(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute("SELECT count(*), coalesce(sum(total_price), 0) FROM usage_daily")
    count, total = rows.fetchall()[0]
    return f"{count} {total.normalize():f}"


def read() -> None:
    con = Settings.from_env(read_environment()).lake().connect(read_only=True)
    con.execute("BEGIN TRANSACTION")
    print(seen(con), flush=True)
    for line in sys.stdin:
        if line.strip() == "next":
            con.execute("COMMIT")
            con.execute("BEGIN TRANSACTION")
        print(seen(con), flush=True)


def load(killed_at: int) -> None:
    wh = Settings.from_env(read_environment()).lake(run_id="lake-process")
    usage = UsageLoad.open(wh, "run", DAY, DAY, resume=False)
    for batch in range(1, killed_at + 1):
        client = f"c{batch - 1}"
        tables = usage_tables(client, batch)
        if batch < killed_at:
            usage.commit_batch(wh, batch, [client], tables)
            print(f"committed {batch}", flush=True)
            continue
        with wh.write("in flight") as con:
            replace_usage(con, tables, DAY_FACTS, None, (DAY, DAY, [client]))
            print("in flight", flush=True)
            sys.stdin.readline()


def usage_tables(client: str, batch: int) -> dict[str, pl.DataFrame]:
    return {
        "usage_daily": frame(DAILY, [day(client, DAY, f"{batch}.5")]),
        "usage_by_category": frame(BY_CATEGORY, []),
        "usage_coverage": coverage_frame([client], DAY, DAY, T0),
    }


if __name__ == "__main__":
    if sys.argv[1] == "read":
        read()
    else:
        load(int(sys.argv[2]))
