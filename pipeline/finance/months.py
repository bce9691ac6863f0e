"""Calendar months as the finance views see them: the first day of the month, UTC."""

from __future__ import annotations

import re
from datetime import date

_MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_month(text: str) -> date:
    """A YYYY-MM month as its first day, or ValueError with a message fit for a one-line error."""
    match = _MONTH.fullmatch(text.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise ValueError(f"{text!r} is not a month of the form YYYY-MM")
    return date(int(match[1]), int(match[2]), 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_label(month: date) -> str:
    """'October 2026': how the report names a month."""
    return month.strftime("%B %Y")
