"""Finance: the inputs (markups, prices and settings) loaded into the warehouse on every run so
that the SQL finance views can read them, and the month close that freezes statements."""

from pipeline.finance.load import (
    FinanceInputsResult,
    finance_ready_warehouse,
    load_finance_inputs,
    refresh_finance_inputs,
)
from pipeline.finance.markups import Markup, MarkupsFileError, check_markup_pct, read_markups
from pipeline.finance.months import month_label, parse_month

__all__ = [
    "FinanceInputsResult",
    "Markup",
    "MarkupsFileError",
    "check_markup_pct",
    "finance_ready_warehouse",
    "load_finance_inputs",
    "month_label",
    "parse_month",
    "read_markups",
    "refresh_finance_inputs",
]
