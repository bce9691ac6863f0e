"""Closing a month: numbered statements frozen from what the warehouse says at close.

An issued statement is never edited, as in the billing systems finance teams know (a draft, a
final invoice, corrections on a later one). So closing month M writes, in one transaction:
- a `statements` row per client x currency with lines in `statement_draft_lines` for M, numbered
  YYYY-NNNNNN without gaps within M's year, in client and currency order;
- its `statement_lines`: the draft's usage, number fee and minimum commitment lines, then one
  `adjustment` line per correction `open_adjustments` has found for the client's earlier
  statements in that currency (recorded in `statement_adjustments`, so each is billed once).
A month that has not ended, or whose figures are not complete and reconciled with the API's
month figure, is refused in one line unless a reason is given (`--force`), which is recorded.
Closing a closed month again changes nothing. The SQL views hold the pricing rules; this module
only numbers, freezes and sums them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb

from pipeline import clock
from pipeline.finance.months import next_month
from pipeline.warehouse import Warehouse, WarehouseError, rows

KIND_ORDER = ("usage", "number_fee", "minimum_commitment", "adjustment")
_LINE_COLUMNS = (
    "statement_number, line_no, kind, category, description, quantity, unit_price, amount, "
    "pricing, paid_quantity, cost, markup_pct"
)


class CloseRefused(WarehouseError):
    """The month cannot be closed as it stands; the message says why and what to do."""


@dataclass(frozen=True)
class Statement:
    number: str
    client_id: str
    currency: str
    subtotal: Decimal
    adjustments_total: Decimal

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.adjustments_total


@dataclass(frozen=True)
class CloseResult:
    month: date
    statements: list[Statement]
    already_closed: bool  # True: an earlier close wrote these; nothing was written now


def close_month(
    wh: Warehouse,
    month: date,
    *,
    force_reason: str | None = None,
    now: datetime | None = None,
) -> CloseResult:
    """Freeze `month` (its first day) into numbered statements; see the module's docstring."""
    closed_at = now or clock.now()
    if next_month(month) > closed_at.date():
        raise CloseRefused(f"{month:%Y-%m} has not ended yet; close it from {next_month(month)}")
    if force_reason is not None and not force_reason.strip():
        raise CloseRefused('--force needs a reason, e.g. --force "API figure disputed, see #12"')
    with wh.write(f"close {month:%Y-%m}") as con:
        # The snapshot every figure below is read from (the transaction's, before it writes).
        built_from = int(
            con.execute("SELECT id FROM warehouse.current_snapshot()").fetchall()[0][0]
        )
        issued = _issued(con, month)
        if issued:
            return CloseResult(month, issued, already_closed=True)
        if force_reason is None:
            _refuse_unless_ready(con, month)
        drafts = rows(
            con,
            "SELECT * FROM statement_draft_lines WHERE month = ? "
            "ORDER BY client_id, currency, category NULLS LAST, description",
            [month],
        )
        if not drafts:
            raise CloseRefused(
                f"nothing to close for {month:%Y-%m}: no client has usage, fees or a minimum "
                "commitment that month"
            )
        corrections = rows(
            con,
            "SELECT * FROM open_adjustments WHERE month < ? "
            "ORDER BY corrects_statement_number, category",
            [month],
        )
        statements = _write(con, month, drafts, corrections, closed_at, force_reason, built_from)
    return CloseResult(month, statements, already_closed=False)


def _write(
    con: duckdb.DuckDBPyConnection,
    month: date,
    drafts: list[dict[str, Any]],
    corrections: list[dict[str, Any]],
    closed_at: datetime,
    force_reason: str | None,
    built_from: int,
) -> list[Statement]:
    lines: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for line in sorted(drafts, key=lambda d: KIND_ORDER.index(d["kind"])):  # stable: keeps order
        lines[line["client_id"], line["currency"]].append(line)
    pending: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for correction in corrections:
        pending[correction["client_id"], correction["currency"]].append(correction)
    names = dict(con.execute("SELECT client_id, name FROM clients").fetchall())
    first = _last_number(con, month.year) + 1
    statements = []
    for offset, (client_id, currency) in enumerate(sorted(lines)):
        number = f"{month.year}-{first + offset:06d}"
        billed = lines[client_id, currency]
        fixes = pending.get((client_id, currency), [])
        rows = [_line(number, n, line) for n, line in enumerate(billed, start=1)]
        rows += [_adjustment(number, len(billed) + n, fix) for n, fix in enumerate(fixes, 1)]
        statement = Statement(
            number,
            client_id,
            currency,
            sum((line["amount"] for line in billed), Decimal(0)),
            sum((fix["amount"] for fix in fixes), Decimal(0)),
        )
        con.execute(
            "INSERT INTO statements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                number,
                client_id,
                names.get(client_id),
                month,
                currency,
                statement.subtotal,
                statement.adjustments_total,
                statement.total,
                built_from,
                closed_at,
                force_reason,
            ],
        )
        con.executemany(f"INSERT INTO statement_lines ({_LINE_COLUMNS}) VALUES ({_marks()})", rows)
        for fix in fixes:
            con.execute(
                "INSERT INTO statement_adjustments VALUES (?, ?, ?, ?, ?)",
                [
                    number,
                    fix["corrects_statement_number"],
                    fix["category"],
                    fix["amount"],
                    closed_at,
                ],
            )
        statements.append(statement)
    return statements


def _line(number: str, line_no: int, line: dict[str, Any]) -> tuple:
    return (
        number,
        line_no,
        line["kind"],
        line["category"],
        line["description"],
        line["quantity"],
        line["unit_price"],
        line["amount"],
        line["pricing"],
        line["paid_quantity"],
        line["cost"],
        line["markup_pct"],
    )


def _adjustment(number: str, line_no: int, fix: dict[str, Any]) -> tuple:
    description = f"correction of {fix['corrects_statement_number']} ({fix['category']})"
    return (
        number,
        line_no,
        "adjustment",
        fix["category"],
        description,
        None,
        None,
        fix["amount"],
        None,
        None,
        None,
        None,
    )


def _marks() -> str:
    return ", ".join("?" for _ in _LINE_COLUMNS.split(", "))


def _refuse_unless_ready(con: duckdb.DuckDBPyConnection, month: date) -> None:
    statuses = Counter(
        status
        for (status,) in con.execute(
            "SELECT status FROM usage_reconciliation_monthly WHERE month = ? AND status <> 'match'",
            [month],
        ).fetchall()
    )
    if statuses:
        found = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
        last = next_month(month).toordinal() - 1
        raise CloseRefused(
            f"{month:%Y-%m} is not ready to close: client-months {found} in "
            f"usage_reconciliation_monthly; load the month again (python -m pipeline run "
            f"--start {month} --end {date.fromordinal(last)}) or close anyway with "
            '--force "reason"'
        )


def _issued(con: duckdb.DuckDBPyConnection, month: date) -> list[Statement]:
    return [
        Statement(*row)
        for row in con.execute(
            "SELECT statement_number, client_id, currency, subtotal, adjustments_total "
            "FROM statements WHERE month = ? ORDER BY statement_number",
            [month],
        ).fetchall()
    ]


def _last_number(con: duckdb.DuckDBPyConnection, year: int) -> int:
    found = con.execute(
        "SELECT max(CAST(split_part(statement_number, '-', 2) AS INTEGER)) FROM statements "
        "WHERE starts_with(statement_number, ?)",
        [f"{year}-"],
    ).fetchone()
    return found[0] if found and found[0] is not None else 0
