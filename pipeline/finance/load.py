"""Put the finance inputs (markups and settings) into the warehouse, replacing the previous ones.

Both tables are replaced whole in one copy-on-write transaction: the markups file and the
environment are the source of truth, so a markup removed from the file stops applying. Every run
checks them; when the warehouse already holds exactly these values nothing is written, which
spares a copy of the warehouse file and lets `report` run beside a pipeline run without waiting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
from polars.datatypes import DataTypeClass

from pipeline import clock
from pipeline.finance.markups import Markup, check_markup_pct, read_markups
from pipeline.settings import SettingsError
from pipeline.warehouse import Warehouse

MARKUPS_SCHEMA: dict[str, pl.DataType | DataTypeClass] = {
    "client_id": pl.String,
    "valid_from": pl.Date,
    "markup_pct": pl.Decimal(9, 4),
    "source_file": pl.String,
    "source_line": pl.Int32,
    "loaded_at": pl.Datetime("us", "UTC"),
}
_KEY_COLUMNS = "client_id, valid_from, markup_pct, source_file, source_line"


@dataclass(frozen=True)
class FinanceInputsResult:
    markups: int
    clients_with_markup: int
    default_markup_pct: Decimal
    low_balance_days: int
    written: bool  # False: the warehouse already held exactly these inputs

    def as_metadata(self) -> dict[str, int | float | bool]:
        return {
            "client_markups.rows": self.markups,
            "clients_with_markup": self.clients_with_markup,
            "default_markup_pct": float(self.default_markup_pct),
            "low_balance_days": self.low_balance_days,
            "written": self.written,
        }


def load_finance_inputs(
    wh: Warehouse,
    markups: Sequence[Markup],
    *,
    default_markup_pct: Decimal,
    low_balance_days: int,
    now: datetime | None = None,
) -> FinanceInputsResult:
    """Replace client_markups by `markups` and finance_settings by these two settings, unless
    the warehouse holds exactly them already."""
    _check_settings(default_markup_pct, low_balance_days)
    result = FinanceInputsResult(
        markups=len(markups),
        clients_with_markup=len({m.client_id for m in markups}),
        default_markup_pct=default_markup_pct,
        low_balance_days=low_balance_days,
        written=True,
    )
    wanted = (_markup_keys(markups), (default_markup_pct, low_balance_days))
    if _held(wh) == wanted:
        return replace(result, written=False)
    loaded_at = now or clock.now()
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
    return result


def refresh_finance_inputs(
    wh: Warehouse,
    markups_path: Path | None,
    *,
    default_markup_pct: Decimal,
    low_balance_days: int,
) -> FinanceInputsResult:
    """Read the markups file (None: no client markups) and load it with the settings; a bad file
    raises MarkupsFileError before the warehouse is touched."""
    markups = read_markups(markups_path) if markups_path is not None else []
    return load_finance_inputs(
        wh, markups, default_markup_pct=default_markup_pct, low_balance_days=low_balance_days
    )


def _markup_keys(markups: Sequence[Markup]) -> list[tuple]:
    return sorted(
        ((m.client_id, m.valid_from, m.markup_pct, m.source_file, m.source_line) for m in markups),
        key=_order,
    )


def _order(key: tuple) -> tuple:
    # Not by value representation: 10 from the file equals 10.0000 from the table.
    client_id, valid_from, _, source_file, source_line = key
    return client_id, valid_from or date.min, source_file, source_line


def _held(wh: Warehouse) -> tuple[list[tuple], tuple[Decimal, int]] | None:
    """What the warehouse holds now; None when it has no finance inputs (or no file) yet."""
    if not wh.exists():
        return None
    with wh.read() as con:
        tables = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
        if ("finance_settings",) not in tables:
            return None  # a warehouse from before the finance tables existed
        settings = con.execute(
            "SELECT default_markup_pct, low_balance_days FROM finance_settings"
        ).fetchall()
        markups = con.execute(f"SELECT {_KEY_COLUMNS} FROM client_markups").fetchall()
    if len(settings) != 1:
        return None
    return sorted(markups, key=_order), settings[0]


def _check_settings(default_markup_pct: Decimal, low_balance_days: int) -> None:
    # The tables' types would silently round a markup with more decimals; refuse it instead.
    try:
        check_markup_pct(format(default_markup_pct, "f"))
    except ValueError as error:
        raise SettingsError(f"PIPELINE_DEFAULT_MARKUP_PCT: {error}") from None
    if low_balance_days < 0:
        raise SettingsError(f"PIPELINE_LOW_BALANCE_DAYS={low_balance_days} must not be negative")
