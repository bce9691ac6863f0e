"""Reading balance bodies into typed usage rows: the candidates, on the same bodies.

The bodies are the simulator's own (1,000 clients x 365 days, one day-granularity window a
client, made without HTTP; bench/transform.py makes them), handed over in batches of 200 clients
as a run does. Each candidate turns a batch into its usage rows with counts as Int64 and money as
DECIMAL(38, 10); each runs three times, in turns, and its lowest CPU and wall figures are kept
(the machine is shared). The reference is DuckDB's own `read_json` + `unnest` of the same bodies
into a table, as bench/replay.py's reference does. A few probe bodies show whether each candidate
is exact: it must read 12345678901234567.1234567891 digit for digit, and refuse 0.07120000000000001
(more than 10 decimals) and a count of -0 as the pipeline does, rather than round or accept them.
msgspec is measured when it is importable; it is not a dependency (the pipeline does not use it):
`uv pip install --target DIR msgspec` and `PYTHONPATH=DIR python -m bench parse` measure it.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from bench.common import Options, section, table
from bench.transform import _answers
from pipeline.transform import RawBalance, UsageFormatError, usage_frames
from pipeline.transform.columnar import Answers
from pipeline.transform.fields import discover_categories, is_money
from pipeline.transform.usage import _parsed_rows, _read_rows, _typed

FULL_CLIENTS, QUICK_CLIENTS = 1000, 200
BATCH = 200
ROUNDS = 3
EXACT = "12345678901234567.1234567891"
PROBES = {
    "exact": f'"total_price": {EXACT}',
    "17 decimals": '"total_price": 0.07120000000000001',
    "-0": '"quantity": -0',
}
_PROBE_ROW = {"quantity": "1", "paid_quantity": "1", "total_price": "0.5"}

Batch = list[RawBalance]
Read = Callable[[Batch], Any]
"""Usage rows of a batch, typed (a frame or an Arrow table)."""


def _batches(answers: Path) -> list[Batch]:
    frame = pl.read_parquet(answers)
    raws = [
        RawBalance(row["client_id"], row["body"], row["fetched_at"])
        for row in frame.iter_rows(named=True)
    ]
    return [raws[first : first + BATCH] for first in range(0, len(raws), BATCH)]


def _fresh(batch: Batch) -> Batch:
    """The same answers without their cached `json.loads` (each round parses them anew)."""
    return [RawBalance(r.client_id, r.raw_text, r.fetched_at) for r in batch]


def _json_loads(batch: Batch) -> pl.DataFrame:
    rows, _ = _parsed_rows(_fresh(batch), "day")
    return rows


def _arrow(batch: Batch) -> pl.DataFrame:
    typed = _read_rows(Answers.of(batch), "day")
    assert typed is not None, "a plain batch went the exact way"
    return typed[0]


def _msgspec() -> Read | None:
    try:
        import msgspec  # optional: measured only where it is installed
    except ImportError:
        return None
    # Floats arrive as their text; integers as ints (exact, but a -0 is 0 by then).
    decoder = msgspec.json.Decoder(float_hook=str)

    def read(batch: Batch) -> pl.DataFrame:
        owners, rows = [], []
        for raw in batch:
            usage = decoder.decode(raw.raw_text)["usage"]
            owners += [raw.client_id] * len(usage)
            rows += usage
        text = pl.from_dicts(rows, infer_schema_length=None, strict=False)
        text = text.select(pl.all().cast(pl.String)).with_columns(client_id=pl.Series(owners))
        return _typed(text, discover_categories(text.columns))

    return read


class _DuckDB:
    """DuckDB's read_json of a batch's bodies as newline-delimited JSON, typed by name."""

    def __init__(self, folder: Path, batch: Batch) -> None:
        self.path = folder / "batch.ndjson"
        self.con = duckdb.connect()
        self.con.execute("SET enable_progress_bar = false")
        names = sorted({name for raw in batch[:20] for name in _usage_names(raw)})
        fields = ", ".join(f"{name} {_duckdb_type(name)}" for name in names)
        self.columns = {"currency": "VARCHAR", "usage": f"STRUCT({fields})[]"}

    def _select(self, batch: Batch) -> str:
        self.path.write_bytes(b"\n".join(_bytes(raw) for raw in batch) + b"\n")
        columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in self.columns.items()) + "}"
        return (
            "SELECT currency, unnest(usage, recursive := true) FROM read_json("
            f"'{self.path}', format = 'newline_delimited', columns = {columns})"
        )

    def alone(self, batch: Batch) -> object:
        return self.con.execute(f"CREATE OR REPLACE TEMP TABLE staging AS {self._select(batch)}")

    def to_polars(self, batch: Batch) -> pl.DataFrame:
        frame = pl.from_arrow(self.con.execute(self._select(batch)).to_arrow_table())
        assert isinstance(frame, pl.DataFrame)
        return frame


def _usage_names(raw: RawBalance) -> set[str]:
    body = raw.body
    return {name for row in body["usage"] for name in row}


def _duckdb_type(name: str) -> str:
    if name == "period_date":
        return "VARCHAR"
    return "DECIMAL(38, 10)" if is_money(name) else "BIGINT"


def _bytes(raw: RawBalance) -> bytes:
    return raw.raw_text if isinstance(raw.raw_text, bytes) else raw.raw_text.encode()


def _probe_body(member: str) -> bytes:
    fields = dict(_PROBE_ROW)
    name, value = (part.strip().strip('"') for part in member.split(":"))
    fields[name] = value
    row = ", ".join(f'"{k}": {v}' for k, v in fields.items())
    return (
        '{"currency": "eur", "usage": [{"period_date": "2024-05-06T00:00:00Z", ' + row + "}]}"
    ).encode()


def _probe_batch(member: str) -> Batch:
    return [RawBalance("probe", _probe_body(member), datetime.now(UTC))]


def _exactness(read: Read, *, refuses: Callable[[Batch], bool] | None = None) -> str:
    """What the candidate makes of the probes, in a few words."""
    notes = []
    for probe, member in PROBES.items():
        batch = _probe_batch(member)
        try:
            if refuses is not None and refuses(batch):
                notes.append(f"{probe}: refused")
                continue
            rows = read(batch)
        except (UsageFormatError, duckdb.Error, pl.exceptions.PolarsError) as error:
            notes.append(f"{probe}: refused" if isinstance(error, UsageFormatError) else "error")
            continue
        frame = rows if isinstance(rows, pl.DataFrame) else pl.from_arrow(rows)
        field = member.split(":")[0].strip().strip('"')
        value = frame[field].item()
        if probe == "exact":
            notes.append("exact digits" if value == Decimal(EXACT) else f"read as {value}")
        else:
            notes.append(f"{probe}: accepted as {value}")
    return "; ".join(notes)


def _refused_by_pipeline(batch: Batch) -> bool:
    try:
        usage_frames(batch)
    except UsageFormatError:
        return True
    return False


def _measure(read: Read, batches: Sequence[Batch]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for batch in batches:
        read(batch)
    return time.perf_counter() - wall, time.process_time() - cpu


def run(options: Options | None = None) -> str:
    options = options or Options()
    clients = QUICK_CLIENTS if options.quick else FULL_CLIENTS
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as tmp:
        folder = Path(tmp)
        size = _answers(clients, folder / "answers.parquet")
        batches = _batches(folder / "answers.parquet")
        duck = _DuckDB(folder, batches[0])
        candidates: dict[str, tuple[Read, str]] = {
            "DuckDB `read_json` + `unnest` alone (reference)": (duck.alone, "-"),
            "before: `json.loads` (numbers as text) + `pl.from_dicts` + exact casts": (
                _json_loads,
                _exactness(_json_loads),
            ),
            "adopted: Arrow `read_json` (scan for lenient forms first) + explode": (
                _arrow,
                _exactness(_arrow, refuses=_refused_by_pipeline),
            ),
            "DuckDB `read_json` + `unnest`, to polars via Arrow": (
                duck.to_polars,
                _exactness(duck.to_polars),
            ),
        }
        msgspec_read = _msgspec()
        if msgspec_read is not None:
            candidates["msgspec (floats as text) + `pl.from_dicts` + exact casts"] = (
                msgspec_read,
                _exactness(msgspec_read),
            )
        best: dict[str, tuple[float, float]] = {}
        for _ in range(ROUNDS):
            for name, (read, _) in candidates.items():
                wall, cpu = _measure(read, batches)
                low = best.get(name, (wall, cpu))
                best[name] = (min(low[0], wall), min(low[1], cpu))
    mb = size / 1e6
    reference_wall, reference_cpu = best[next(iter(candidates))]
    rows = [
        (
            name,
            f"{cpu:.2f}",
            f"{mb / cpu:.0f}",
            f"{wall:.2f}",
            f"{mb / wall:.0f}",
            f"{reference_cpu / cpu:.2f}",
            f"{reference_wall / wall:.2f}",
            candidates[name][1],
        )
        for name, (wall, cpu) in best.items()
    ]
    absent = (
        f" msgspec {version('msgspec')} was importable for this run (not a dependency)."
        if msgspec_read is not None
        else " msgspec was not installed for this run."
    )
    return section(
        "Reading bodies into typed usage rows",
        f"{clients:,} clients x 365 days of the simulator's answers ({mb:.0f} MB of JSON) in "
        f"batches of {BATCH} clients, each candidate from the raw bodies to typed usage rows. "
        f"Lowest of {ROUNDS} rounds taken in turns; CPU seconds include every thread's.",
        table(
            [
                "candidate",
                "CPU seconds",
                "JSON MB per CPU second",
                "seconds",
                "JSON MB/s",
                "vs DuckDB alone (CPU)",
                "vs DuckDB alone (wall)",
                "exactness probes",
            ],
            rows,
        ),
        "Only exact candidates can be adopted: DuckDB 1.5.5's `read_json` reads a JSON number "
        "into DECIMAL through a double (and so does its VARCHAR or JSON reading of a number), "
        "and rounds excess decimals; msgspec keeps floats' text but reads integers as ints "
        "(a -0 becomes 0) and would still build rows through Python dicts. Arrow's reader "
        "converts a number to decimal from its text and refuses excess decimals or digits; "
        'the forms it reads more leniently than the exact parse (-0, "+5", ".5", "5.", '
        "exponents, NaN and Inf, escapes) are found by a scan of the raw text first and sent "
        "the exact way (pipeline/transform/columnar.py)." + absent,
    )
