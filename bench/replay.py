"""`replay` (transform + load) of a year of raw answers, against DuckDB alone on the same JSON.

The answers (one day-granularity window of 365 days per client) are the simulator's own, made
without HTTP and landed the way a run lands them (bench/history.py). Then, once each, in
processes of their own:
- the pipeline: `replay_in_batches` reads the landing files batch by batch, transforms with
  polars and commits each batch into the lake;
- the reference: DuckDB's `read_json` on the same bodies written as newline-delimited JSON,
  `unnest` of the usage rows into a typed staging table, then INSERTs into usage_daily and
  usage_by_category (the project's own table definitions, DECIMAL(38,10) money), checkpointed.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

from bench.common import Options, section, table, yesterday
from bench.history import (
    build_history,
    days_before,
    remember_replayed,
    replay,
    replay_stages,
    shared_folder,
)
from bench.processes import Measured, measure, pipeline_env
from bench.targets import Target, record
from pipeline.transform.families import DIRECTION, DIRECTION_CATEGORIES, PRICING
from pipeline.transform.usage import discover_categories
from pipeline.warehouse import Warehouse

FULL_CLIENTS = 10_000
QUICK_CLIENTS = 300
DAYS = 365
GIB = 1024

_DUCKDB = """
import json, sys, duckdb
from pipeline.warehouse import Warehouse
ndjson, database, tables, spec = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
con = duckdb.connect(database)
con.execute("SET enable_progress_bar = false")
for name in ("usage_daily", "usage_by_category"):
    con.execute(open(f"{tables}/{name}.sql").read())
usage = ", ".join(f"{column} {kind}" for column, kind in spec["usage"].items())
columns = {"client_id": "VARCHAR", "fetched_at": "TIMESTAMPTZ",
           "body": f"STRUCT(currency VARCHAR, usage STRUCT({usage})[])"}
con.execute(
    "CREATE TABLE staging AS SELECT client_id, fetched_at, upper(body.currency) AS currency, "
    "unnest(body.usage) AS u FROM read_json(?, format='newline_delimited', columns=" +
    "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "})", [ndjson])
day = "CAST(left(u.period_date, 10) AS DATE)"
optional = ("free_quantity", "free_tier", "free_entry_point")
totals = ", ".join(f"coalesce(u.{c}, 0)" for c in optional)
con.execute(f"INSERT INTO usage_daily SELECT client_id, {day}, currency, u.quantity, "
            f"u.paid_quantity, {totals}, u.total_price, fetched_at FROM staging")
triples = ", ".join(
    f"{{'category': '{c}', 'family': '{family}', 'quantity': coalesce(u.{c}_quantity, 0), "
    f"'paid_quantity': coalesce(u.{c}_paid_quantity, 0), "
    f"'price': coalesce(u.{c}_price, 0)::DECIMAL(38, 10)}}"
    for c, family in spec["categories"].items()
)
con.execute(
    "INSERT INTO usage_by_category SELECT client_id, usage_date, currency, c.category, c.family, "
    "c.quantity, c.paid_quantity, c.price, fetched_at FROM ("
    f"SELECT client_id, {day} AS usage_date, currency, fetched_at, unnest([{triples}]) AS c "
    "FROM staging) WHERE c.quantity <> 0 OR c.paid_quantity <> 0 OR c.price <> 0")
con.execute("DROP TABLE staging")
con.execute("CHECKPOINT")
counts = {t: con.execute(f"SELECT count(*), sum({m}) FROM {t}").fetchone()
          for t, m in (("usage_daily", "total_price"), ("usage_by_category", "price"))}
print(json.dumps({t: [n, str(s)] for t, (n, s) in counts.items()}))
"""


def _usage_columns(ndjson: Path) -> dict[str, object]:
    """The usage rows' fields (in every 20th answer), typed as the warehouse types them."""
    names: set[str] = set()
    with ndjson.open("rb") as lines:
        for number, line in enumerate(lines):
            if number % 20 == 0:  # a sample spread over the whole file
                for row in json.loads(line)["body"]["usage"]:
                    names.update(row)
    categories = discover_categories(names)

    def kind(name: str) -> str:
        if name == "period_date":
            return "VARCHAR"
        return "DECIMAL(38, 10)" if name.endswith("price") else "BIGINT"

    families = {c: DIRECTION if c in DIRECTION_CATEGORIES else PRICING for c in categories}
    return {"usage": {name: kind(name) for name in sorted(names)}, "categories": families}


def _duckdb(ndjson: Path, folder: Path) -> tuple[Measured, dict[str, list]]:
    spec = _usage_columns(ndjson)
    tables = Path(__file__).parent.parent / "sql" / "tables"
    database = folder / "duckdb_reference.duckdb"
    command = [sys.executable, "-c", _DUCKDB, str(ndjson), str(database), str(tables)]
    measured = measure([*command, json.dumps(spec)], pipeline_env(folder), folder).check()
    database.unlink()
    return measured, json.loads(measured.stdout.strip().splitlines()[-1])


def _pipeline_totals(folder: Path) -> dict[str, list]:
    con = Warehouse(folder / "warehouse.sqlite").connect(read_only=True)
    try:
        return {
            t: [n, str(s)]
            for t, m in (("usage_daily", "total_price"), ("usage_by_category", "price"))
            for n, s in [con.execute(f"SELECT count(*), sum({m}) FROM {t}").fetchone()]
        }
    finally:
        con.close()


def run(options: Options | None = None) -> str:
    options = options or Options()
    clients = options.clients or (QUICK_CLIENTS if options.quick else FULL_CLIENTS)
    end = yesterday() - timedelta(days=1)
    start = days_before(end, DAYS)
    folder = shared_folder(f"{clients}-{start}-{end}")
    history = build_history(folder, clients, start, end, ndjson=True)
    assert history.ndjson is not None
    reference, reference_totals = _duckdb(history.ndjson, folder)
    history.ndjson.unlink()
    replayed = replay(history)
    remember_replayed(history)
    totals = _pipeline_totals(folder)
    same = totals == reference_totals
    mb = history.json_bytes / 1e6
    rows = [
        _row("pipeline `replay_in_batches`", replayed, mb),
        _row("DuckDB `read_json` + unnest", reference, mb),
    ]
    ratio = reference.seconds / replayed.seconds
    cpu_ratio = reference.cpu_seconds / replayed.cpu_seconds
    stages = replay_stages(replayed)
    total_wall, total_cpu = stages.pop("total")
    startup = stages.pop("start-up (imports)")
    other = (
        total_wall - sum(wall for wall, _ in stages.values()),
        total_cpu - sum(cpu for _, cpu in stages.values()),
    )
    peak_ok = replayed.peak_mb < GIB
    last_batch = replayed.when("replay: batch", last=True)
    in_batches = replayed.peak_in(None, last_batch)
    in_publish = replayed.peak_in(last_batch)
    size = f"{clients:,} clients x {DAYS} days"
    record(
        "replay",
        [
            Target(
                f"`replay` of {size}: peak RSS",
                "< 1 GiB",
                f"{replayed.peak_mb:,.0f} MB",
                peak_ok,
                f"peak {replayed.phase_at_peak()}: {in_batches:,.0f} MB at most while committing "
                f"batches, {in_publish:,.0f} MB after the last one",
            ),
            Target(
                f"`replay` of {size}: throughput against DuckDB's",
                ">= 1/2 (aim 2/3)",
                f"{ratio:.2f} ({mb / replayed.seconds:.1f} vs {mb / reference.seconds:.1f} "
                f"JSON MB/s; CPU: {cpu_ratio:.2f})",
                ratio >= 0.5,
                _slowest(stages, total_wall) + "; CPU seconds per second: DuckDB "
                f"{reference.cpu_seconds / reference.seconds:.1f}, the replay "
                f"{replayed.cpu_seconds / replayed.seconds:.1f} (its transform and its "
                "inserts take turns on one thread)",
            ),
        ],
        options.results,
    )
    stage_rows = [
        (stage, f"{wall:.1f}", f"{cpu:.1f}", f"{wall / total_wall:.0%}")
        for stage, (wall, cpu) in [*stages.items(), ("other (coverage, Python)", other)]
    ]
    stage_rows.append(("start-up (imports), before the above", f"{startup[0]:.1f}", "", ""))
    return section(
        "Replay against DuckDB alone",
        f"{size} of raw answers ({history.answers:,} bodies, {mb:,.0f} MB of JSON; "
        f"{history.landed_bytes / 1e6:,.0f} MB as zstd landing files), made by the simulator's "
        f"generator without HTTP in {history.generate_seconds:.0f} s of CPU. Each side ran "
        "once, in a process of its own; peak RSS is that process's.",
        table(
            ["what", "seconds", "CPU seconds", "JSON MB/s", "peak RSS"],
            rows,
        ),
        f"Both sides end with the same rows and sums: {'yes' if same else 'NO'} "
        f"({totals['usage_daily'][0]:,} usage_daily and {totals['usage_by_category'][0]:,} "
        f"usage_by_category rows). The pipeline's peak: {in_batches:,.0f} MB while transforming "
        f"and committing batches, {in_publish:,.0f} MB after the last one. "
        "The pipeline also writes usage_coverage (one row a client-day) and commits each batch "
        "into the lake as a transaction of its own; the reference only loads the two tables.",
        "Where the pipeline's replay spends its time (each stage timed around its function in "
        "the same run):",
        table(["stage", "seconds", "CPU seconds", "share of the replay"], stage_rows),
    )


def _row(what: str, measured: Measured, mb: float) -> tuple:
    return (
        what,
        f"{measured.seconds:.1f}",
        f"{measured.cpu_seconds:.1f}",
        f"{mb / measured.seconds:.1f}",
        f"{measured.peak_mb:,.0f} MB",
    )


def _slowest(stages: dict[str, tuple[float, float]], total: float) -> str:
    top = sorted(stages.items(), key=lambda item: item[1][0], reverse=True)[:3]
    return "the replay's time: " + ", ".join(
        f"{name} {wall / total:.0%}" for name, (wall, _) in top
    )
