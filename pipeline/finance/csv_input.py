"""The finance input files (PIPELINE_MARKUPS, PIPELINE_PRICING): CSV read whole and checked
before anything is written, every problem one line naming the file and the line to fix
(`path:line: problem`), so a bad file never half-applies."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

from pipeline.settings import SettingsError

# Plain decimal notation only: "1e2" or "12%" in a price list is more likely a slip than intended.
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


class InputFileError(SettingsError):
    """A finance input file cannot be used; the message names the file and the line to fix."""


def plain_decimal(name: str, text: str, decimals: int, example: str) -> Decimal:
    """`text` as an exact Decimal of at most `decimals` places, or ValueError naming `name`."""
    if not _NUMBER.fullmatch(text.strip()):
        raise ValueError(f"{name} {text!r} is not a number (write e.g. {example})")
    value = Decimal(text.strip())
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > decimals:
        raise ValueError(f"{name} {text!r} has more than {decimals} decimals (it is not rounded)")
    return value


def csv_rows(
    path: Path,
    variable: str,
    required: Sequence[str],
    optional: Sequence[str] = (),
    error: type[InputFileError] = InputFileError,
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, stripped values by column) of each non-blank row after the header; a
    problem of the file itself raises `error`."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: spreadsheets often write a BOM
    except FileNotFoundError:
        raise error(f"{variable}: no file at {path}") from None
    except (OSError, UnicodeDecodeError) as cause:
        reason = cause.strerror if isinstance(cause, OSError) else "not UTF-8 text"
        raise error(f"{variable}: cannot read {path} ({reason})") from None
    reader = csv.reader(text.splitlines())
    try:
        columns = _header(path, next(reader, []), required, optional)
    except InputFileError as refused:
        raise error(str(refused)) from None
    for values in reader:
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(columns):
            raise error(
                f"{path}:{reader.line_num}: {len(values)} values, but the header has "
                f"{len(columns)} columns"
            )
        yield reader.line_num, {n: v.strip() for n, v in zip(columns, values, strict=True)}


def _header(
    path: Path, names: list[str], required: Sequence[str], optional: Sequence[str]
) -> list[str]:
    columns = [name.strip() for name in names]
    expected = ",".join(required) + (f" and optionally {','.join(optional)}" if optional else "")
    if not columns:
        raise InputFileError(f"{path}:1: no header line; expected {expected}")
    for name in columns:
        if name not in (*required, *optional):
            raise InputFileError(f"{path}:1: unknown column {name!r}; expected {expected}")
        if columns.count(name) > 1:
            raise InputFileError(f"{path}:1: column {name!r} appears twice")
    for name in required:
        if name not in columns:
            raise InputFileError(f"{path}:1: no column {name!r}; expected {expected}")
    return columns
