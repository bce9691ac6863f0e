"""Balance bodies read column-wise by Arrow's JSON reader: the fast way to the exact frames.

Arrow converts a JSON number to a decimal from its text, so money stays exact: more decimal
places than MONEY has, or more digits than fit, are an error, never rounded. (DuckDB 1.5.5's
`read_json` and polars' `read_ndjson` read numbers through a double: bench/results/parse.md.)
Where Arrow is more lenient than the exact parse (parsing.py), a batch goes the exact way:
- forms found by a scan of the raw text before reading, each one measured: `-0` (read as 0),
  strings like "+5", ".5" and "5." (read as decimals), exponents (1e30 wraps around to a
  29-digit number), NaN and Inf, and any escape (`"\\u002d0"` is "-0");
- after reading: a field of another type or the same key twice (Arrow refuses the batch), and
  the checks of the frames built from the read (usage.py, balance.py), which also catch the
  values Arrow keeps beyond MONEY's range.
The exact way then refuses each malformed answer with client, day and field as it always did,
and accepts what it accepts (a count sent as a string, say).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
import pyarrow as pa
import pyarrow.json as pj

from pipeline.transform.fields import (
    DOCUMENTED_CATEGORIES,
    OPTIONAL_TOTALS,
    REQUIRED_TOTALS,
    category_columns,
    discover_categories,
    is_money,
)
from pipeline.transform.parsing import RawBalance

# Read typed in the first pass; a category not listed costs the batch a second read.
KNOWN_CATEGORIES = tuple(sorted(DOCUMENTED_CATEGORIES))
MONEY_MAX = Decimal("9999999999999999999999999999.9999999999")
"""The largest MONEY value: Arrow keeps 29-digit integer parts in its 38-digit decimal."""

_MONEY = pa.decimal128(38, 10)
_BALANCE_MONEY = (
    "balance",
    "estimated_template_cost",
    "bi_price_for_currency_and_client_country",
    "ui_price_for_currency_and_client_country",
)
# Polars' regex engine is fastest with one literal or literal set per pass. NaN and Inf are
# looked for anywhere ("Info" would send a batch the exact way: no such text in these bodies).
_LENIENT_LITERALS = ("\\", '"-', '"+', '".', '."', "NaN", "Inf")
_LENIENT_PATTERNS = (
    "|".join(f"{mark}{e}" for mark in [*"0123456789", r"\."] for e in "eE"),
    r"-0(?:\.0+)?[^.0-9]",
)
_JSON_SPACE = " \t\n\r"


@dataclass(frozen=True)
class Answers:
    """Balance answers and, when Arrow could read all of them, their bodies read column-wise."""

    raws: Sequence[RawBalance]
    read: pl.DataFrame | None
    """One row per answer (see `read_bodies`); None: the exact parse decides."""

    @classmethod
    def of(cls, raws: Sequence[RawBalance]) -> Answers:
        return cls(raws, read_bodies(raws))

    def subset(self, positions: Sequence[int], *, usage: bool = True) -> Answers:
        """The answers at `positions`; without `usage`, their read has only the top-level fields
        (the usage lists are most of a read: not copied for what does not need them)."""
        raws = [self.raws[i] for i in positions]
        if self.read is None:
            return Answers(raws, None)
        read = self.read if usage else self.read.drop("usage")
        if list(positions) != list(range(len(self.raws))):
            read = read.select(pl.all().gather(list(positions)))
        return Answers(raws, read)


def read_bodies(raws: Sequence[RawBalance]) -> pl.DataFrame | None:
    """One row per answer: its body's fields, money as MONEY, `usage` a list of structs with
    `period_date`, the totals and every category's measures (counts Int64); None when the exact
    parse must decide (see the module's doc)."""
    try:
        encoded = [
            r.raw_text if isinstance(r.raw_text, bytes) else r.raw_text.encode() for r in raws
        ]
    except UnicodeEncodeError:  # a lone surrogate in a str body
        return None
    try:
        bodies = pl.Series(encoded, dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.ComputeError:  # a body that is not UTF-8
        return None
    if bodies.is_empty() or not _plain(bodies):
        return None
    text = b"\n".join(encoded)
    # Arrow refuses an object larger than its block: each block holds the largest body whole.
    block = max(1 << 24, 2 * max(map(len, encoded)))
    categories = list(KNOWN_CATEGORIES)
    read = _read(text, categories, block)
    if read is not None:
        new = [c for c in discover_categories(_usage_fields(read)) if c not in categories]
        if new:
            categories += new
            read = _read(text, categories, block)
    if read is None or read.num_rows != len(raws) or _nested_extras(read, categories):
        return None
    frame = pl.from_arrow(read)
    assert isinstance(frame, pl.DataFrame)  # a table gives a frame
    return frame


def _plain(bodies: pl.Series) -> bool:
    """True when every body is one object (so row n of the read is answer n) and no body has a
    form Arrow reads more leniently than the exact parse."""
    body = pl.col("body")
    stripped = body.str.strip_chars(_JSON_SPACE)
    lenient = [body.str.contains(literal, literal=True) for literal in _LENIENT_LITERALS]
    lenient += [body.str.contains(pattern) for pattern in _LENIENT_PATTERNS]
    one_object = stripped.str.starts_with("{") & stripped.str.ends_with("}")
    plain = one_object & ~pl.any_horizontal(lenient)
    return bool(bodies.to_frame("body").select(plain.all()).item())


def _read(text: bytes, categories: Sequence[str], block: int) -> pa.Table | None:
    """Arrow's read of the bodies, or None where it refuses them."""
    options = pj.ParseOptions(
        explicit_schema=_body_schema(categories),
        # extra fields are inferred rather than dropped: new categories are discovered from them
        unexpected_field_behavior="infer",
    )
    # One thread: as fast in CPU, and the machine's other cores are the other processes'.
    # Bodies printed over several lines are read too when a block holds them; a body cut
    # between two blocks is not an object, so Arrow refuses it rather than misread it.
    read_options = pj.ReadOptions(block_size=block, use_threads=False)
    try:
        return pj.read_json(pa.BufferReader(text), read_options=read_options, parse_options=options)
    except pa.ArrowException:
        return None


def _body_schema(categories: Sequence[str]) -> pa.Schema:
    names = ["period_date", *REQUIRED_TOTALS, *OPTIONAL_TOTALS, *category_columns(categories)]
    row = pa.struct(
        [
            (
                name,
                pa.string() if name == "period_date" else _MONEY if is_money(name) else pa.int64(),
            )
            for name in names
        ]
    )
    return pa.schema(
        [
            ("currency", pa.string()),
            ("granularity", pa.string()),
            ("last_renewal", pa.struct([("date", pa.string()), ("amount", _MONEY)])),
            *((name, _MONEY) for name in _BALANCE_MONEY),
            ("usage", pa.list_(row)),
        ]
    )


def _usage_fields(read: pa.Table) -> list[str]:
    row = read.schema.field("usage").type.value_type
    return [field.name for field in row]


def _nested_extras(read: pa.Table, categories: Sequence[str]) -> bool:
    """True if a field the schema does not name holds objects or arrays: the exact parse
    refuses those in usage rows (and decides about them anywhere else)."""
    extras = _extras(read.schema, _body_schema(categories))
    return any(pa.types.is_nested(field.type) for field in extras)


def _extras(
    read: pa.Schema | pa.StructType, wanted: pa.Schema | pa.StructType
) -> Iterator[pa.Field]:
    """The fields of `read` (nested ones too) that `wanted` does not name."""
    known = {field.name: field.type for field in wanted}
    for field in read:
        if field.name not in known:
            yield field
        elif pa.types.is_struct(field.type):
            yield from _extras(field.type, known[field.name])
        elif pa.types.is_list(field.type):
            yield from _extras(field.type.value_type, known[field.name].value_type)
