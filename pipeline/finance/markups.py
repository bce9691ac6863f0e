"""The PIPELINE_MARKUPS file: `client_id,markup_pct[,valid_from]`, one markup per client and month.

The file is read whole and checked before anything is written: the first problem is one line
naming the file and the line (as `path:line: problem`), so a bad file never half-applies.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from pipeline.finance.months import parse_month
from pipeline.settings import SettingsError

REQUIRED_COLUMNS = ("client_id", "markup_pct")
OPTIONAL_COLUMNS = ("valid_from",)
# client_markups.markup_pct and finance_settings.default_markup_pct are DECIMAL(9, 4).
MARKUP_DECIMALS = 4
MARKUP_LOWEST = Decimal(-100)  # a 100% discount: billable 0; below it an invoice turns negative
MARKUP_HIGHEST = Decimal("99999.9999")
# Plain decimal notation only: "1e2" or "12%" in a price list is more likely a slip than intended.
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


class MarkupsFileError(SettingsError):
    """The markups file cannot be used; the message names the file and the line to fix."""


@dataclass(frozen=True)
class Markup:
    client_id: str
    markup_pct: Decimal
    valid_from: date | None  # first month it applies; None: since always
    source_file: str
    source_line: int


def check_markup_pct(text: str) -> Decimal:
    """A markup in percent as an exact Decimal, or ValueError saying what is wrong with it."""
    if not _NUMBER.fullmatch(text.strip()):
        raise ValueError(f"markup_pct {text!r} is not a number (write e.g. 12.5 for 12.5%)")
    value = Decimal(text.strip())
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MARKUP_DECIMALS:
        raise ValueError(
            f"markup_pct {text!r} has more than {MARKUP_DECIMALS} decimals (it is not rounded)"
        )
    if not MARKUP_LOWEST <= value <= MARKUP_HIGHEST:
        raise ValueError(f"markup_pct {text!r} is outside {MARKUP_LOWEST}..{MARKUP_HIGHEST}")
    return value


def read_markups(path: Path) -> list[Markup]:
    """Every markup of the file, checked; MarkupsFileError (one line) on the first problem."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: spreadsheets often write a BOM
    except FileNotFoundError:
        raise MarkupsFileError(f"PIPELINE_MARKUPS: no file at {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise MarkupsFileError(f"PIPELINE_MARKUPS: cannot read {path} ({reason})") from None
    reader = csv.reader(text.splitlines())
    columns = _header(path, next(reader, []))
    markups: list[Markup] = []
    first_line: dict[tuple[str, date | None], int] = {}
    for values in reader:
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue
        markup = _row(path, line, columns, values)
        key = (markup.client_id, markup.valid_from)
        if key in first_line:
            since = markup.valid_from.strftime("%Y-%m") if markup.valid_from else "always"
            raise MarkupsFileError(
                f"{path}:{line}: client {markup.client_id!r} already has a markup from {since} "
                f"on line {first_line[key]}; keep one"
            )
        first_line[key] = line
        markups.append(markup)
    return markups


def _header(path: Path, names: list[str]) -> list[str]:
    columns = [name.strip() for name in names]
    expected = "client_id,markup_pct and optionally valid_from"
    if not columns:
        raise MarkupsFileError(f"{path}:1: no header line; expected {expected}")
    for name in columns:
        if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS:
            raise MarkupsFileError(f"{path}:1: unknown column {name!r}; expected {expected}")
        if columns.count(name) > 1:
            raise MarkupsFileError(f"{path}:1: column {name!r} appears twice")
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            raise MarkupsFileError(f"{path}:1: no column {name!r}; expected {expected}")
    return columns


def _row(path: Path, line: int, columns: list[str], values: list[str]) -> Markup:
    if len(values) != len(columns):
        raise MarkupsFileError(
            f"{path}:{line}: {len(values)} values, but the header has {len(columns)} columns"
        )
    fields = {name: value.strip() for name, value in zip(columns, values, strict=True)}
    if not fields["client_id"]:
        raise MarkupsFileError(f"{path}:{line}: client_id is empty")
    try:
        markup_pct = check_markup_pct(fields["markup_pct"])
    except ValueError as error:
        raise MarkupsFileError(f"{path}:{line}: {error}") from None
    month = fields.get("valid_from", "")
    try:
        valid_from = parse_month(month) if month else None
    except ValueError as error:
        raise MarkupsFileError(f"{path}:{line}: valid_from {error}") from None
    return Markup(fields["client_id"], markup_pct, valid_from, str(path), line)
