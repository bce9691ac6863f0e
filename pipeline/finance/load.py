"""Write the finance inputs (markups and settings) into the warehouse, replacing the previous ones.

Both tables are replaced whole in one copy-on-write transaction: the markups file and the
environment are the source of truth, so a markup removed from the file stops applying.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

from pipeline.finance.markups import Markup, check_markup_pct, read_markups
from pipeline.settings import SettingsError
from pipeline.warehouse import Warehouse

MARKUPS_SCHEMA = {
    "client_id": pl.String,
    "valid_from": pl.Date,
    "markup_pct": pl.Decimal(9, 4),
    "source_file": pl.String,
    "source_line": pl.Int32,
    "loaded_at": pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class FinanceInputsResult:
    markups: int
    clients_with_markup: int
    default_markup_pct: Decimal
    low_balance_days: int

    def as_metadata(self) -> dict[str, int | float]:
        return {
            "client_markups.rows": self.markups,
            "clients_with_markup": self.clients_with_markup,
            "default_markup_pct": float(self.default_markup_pct),
            "low_balance_days": self.low_balance_days,
        }


def load_finance_inputs(
    wh: Warehouse,
    markups: Sequence[Markup],
    *,
    default_markup_pct: Decimal,
    low_balance_days: int,
    now: datetime | None = None,
) -> FinanceInputsResult:
    """Replace client_markups by `markups` and finance_settings by these two settings."""
    _check_settings(default_markup_pct, low_balance_days)
    loaded_at = now or datetime.now(UTC)
    rows = pl.DataFrame(
        [
            (m.client_id, m.valid_from, m.markup_pct, m.source_file, m.source_line, loaded_at)
            for m in markups
        ],
        schema=MARKUPS_SCHEMA,
        orient="row",
    )
    with wh.write() as con:
        con.execute("DELETE FROM client_markups")
        con.register("incoming_markups", rows)
        con.execute("INSERT INTO client_markups BY NAME SELECT * FROM incoming_markups")
        con.unregister("incoming_markups")
        con.execute("DELETE FROM finance_settings")
        con.execute(
            "INSERT INTO finance_settings (default_markup_pct, low_balance_days, written_at) "
            "VALUES (?, ?, ?)",
            [default_markup_pct, low_balance_days, loaded_at],
        )
    return FinanceInputsResult(
        markups=len(markups),
        clients_with_markup=len({m.client_id for m in markups}),
        default_markup_pct=default_markup_pct,
        low_balance_days=low_balance_days,
    )


def refresh_finance_inputs(
    wh: Warehouse,
    markups_path: Path | None,
    *,
    default_markup_pct: Decimal,
    low_balance_days: int,
) -> FinanceInputsResult:
    """Read the markups file (none: no client markups) and load it with the settings; a bad file
    raises MarkupsFileError before the warehouse is touched."""
    markups = read_markups(markups_path) if markups_path is not None else []
    return load_finance_inputs(
        wh, markups, default_markup_pct=default_markup_pct, low_balance_days=low_balance_days
    )


def _check_settings(default_markup_pct: Decimal, low_balance_days: int) -> None:
    # The tables' types would silently round a markup with more decimals; refuse it instead.
    try:
        check_markup_pct(format(default_markup_pct, "f"))
    except ValueError as error:
        raise SettingsError(f"PIPELINE_DEFAULT_MARKUP_PCT: {error}") from None
    if low_balance_days < 0:
        raise SettingsError(f"PIPELINE_LOW_BALANCE_DAYS={low_balance_days} must not be negative")
