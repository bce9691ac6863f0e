"""The PIPELINE_MARKUPS file: `client_id,markup_pct[,valid_from]`, one markup per client and month.

Read and checked whole, as every finance input file (csv_input.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from pipeline.finance.csv_input import InputFileError, csv_rows, plain_decimal
from pipeline.finance.months import parse_month

REQUIRED_COLUMNS = ("client_id", "markup_pct")
OPTIONAL_COLUMNS = ("valid_from",)
# client_markups.markup_pct and finance_settings.default_markup_pct are DECIMAL(9, 4).
MARKUP_DECIMALS = 4
MARKUP_LOWEST = Decimal(-100)  # a 100% discount: billable 0; below it an invoice turns negative
MARKUP_HIGHEST = Decimal("99999.9999")


class MarkupsFileError(InputFileError):
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
    value = plain_decimal("markup_pct", text, MARKUP_DECIMALS, "12.5 for 12.5%")
    if not MARKUP_LOWEST <= value <= MARKUP_HIGHEST:
        raise ValueError(f"markup_pct {text!r} is outside {MARKUP_LOWEST}..{MARKUP_HIGHEST}")
    return value


def read_markups(path: Path) -> list[Markup]:
    """Every markup of the file, checked; MarkupsFileError (one line) on the first problem."""
    markups: list[Markup] = []
    first_line: dict[tuple[str, date | None], int] = {}
    rows = csv_rows(
        path, "PIPELINE_MARKUPS", REQUIRED_COLUMNS, OPTIONAL_COLUMNS, error=MarkupsFileError
    )
    for line, fields in rows:
        markup = _row(path, line, fields)
        key = (markup.client_id, markup.valid_from)
        if key in first_line:
            since = markup.valid_from.strftime("%Y-%m") if markup.valid_from else "always"
            raise MarkupsFileError(
                f"{path}:{line}: client {markup.client_id!r} already has a markup from "
                f"{since} on line {first_line[key]}; keep one"
            )
        first_line[key] = line
        markups.append(markup)
    return markups


def _row(path: Path, line: int, fields: dict[str, str]) -> Markup:
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
