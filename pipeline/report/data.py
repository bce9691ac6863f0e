"""What the report shows, read from the finance views with bound parameters (read-only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from pipeline.finance.months import next_month
from pipeline.warehouse import rows

Row = dict[str, Any]
HISTORY_MONTHS = 13  # the month charts: a year back and the report's month
TREND_MONTHS = 6  # the daily trend: long enough to see a weekly rhythm and the month turns
TOP_CLIENTS = 10
LISTED_ROWS = 15  # longest table of a section (low balance, mismatches, spikes)


@dataclass(frozen=True)
class MonthStatus:
    month: date
    complete: bool
    clients_expected: int
    clients_complete: int


@dataclass(frozen=True)
class CurrencySection:
    currency: str
    totals: Row  # the month: cost, billable_amount, clients, previous_cost
    category_costs: list[Row]  # month x category
    month_complete: dict[date, bool]  # the months of category_costs
    top_clients: list[Row]
    daily: list[Row]
    reconciliation: list[Row]  # month x status counts
    mismatches: list[Row]  # the report month's client rows not 'match'
    low_balance: list[Row]
    spikes: list[Row]
    partner_balance: Row | None
    statements: list[Row]  # the month's closed statements in this currency
    open_adjustments: list[Row]  # corrections of closed statements not on a statement yet


# Why billable can sit a cent under cost at 0% markup, where a finance reader sees the two.
BILLABLE_ROUNDING = (
    "Billable amounts are rounded to the cent per client and month, half away from zero, and "
    "then added up, so a currency's billable total can differ from its cost by a few cents "
    "even at 0% markup."
)


@dataclass(frozen=True)
class ReportData:
    month: date
    status: MonthStatus
    settings: Row
    sections: list[CurrencySection]
    statement: list[Row]
    closed_lines: list[Row]  # the lines of the month's closed statements, every currency


def latest_ended_month(con: duckdb.DuckDBPyConnection, today: date) -> date | None:
    """The latest calendar month that ended before `today` and has any fetched day."""
    found = con.execute(
        "SELECT max(month) FROM client_month_coverage WHERE month < ?", [today.replace(day=1)]
    ).fetchone()
    return found[0] if found else None


def month_status(con: duckdb.DuckDBPyConnection, month: date) -> MonthStatus | None:
    """How far the month is fetched; None when no day of it was."""
    found = rows(con, "SELECT * FROM month_coverage WHERE month = ?", [month])
    if not found:
        return None
    row = found[0]
    return MonthStatus(
        month, row["month_complete"], row["clients_expected"], row["clients_complete"]
    )


def report_data(con: duckdb.DuckDBPyConnection, status: MonthStatus) -> ReportData:
    month = status.month
    first = _months_before(month, HISTORY_MONTHS - 1)
    currencies = [
        currency
        for (currency,) in con.execute(
            "SELECT DISTINCT currency FROM client_monthly_statement "
            "WHERE month BETWEEN ? AND ? ORDER BY currency",
            [first, month],
        ).fetchall()
    ]
    return ReportData(
        month=month,
        status=status,
        settings=rows(con, "SELECT * FROM finance_settings_in_force")[0],
        sections=[_section(con, month, currency) for currency in currencies],
        statement=rows(
            con,
            "SELECT * FROM client_monthly_statement WHERE month = ? "
            "ORDER BY currency, client_name, client_id",
            [month],
        ),
        closed_lines=rows(
            con,
            "SELECT s.statement_number, s.client_id, s.client_name, s.currency, l.line_no, "
            "l.kind, l.description, l.quantity, l.unit_price, l.amount "
            "FROM statements AS s JOIN statement_lines AS l USING (statement_number) "
            "WHERE s.month = ? ORDER BY s.statement_number, l.line_no",
            [month],
        ),
    )


def _section(con: duckdb.DuckDBPyConnection, month: date, currency: str) -> CurrencySection:
    first = _months_before(month, HISTORY_MONTHS - 1)
    categories = rows(
        con,
        "SELECT month, category, cost, month_complete FROM category_mix_monthly "
        "WHERE currency = ? AND month BETWEEN ? AND ? ORDER BY month, category",
        [currency, first, month],
    )
    recent = rows(
        con,
        "SELECT month, month_complete FROM month_coverage WHERE month BETWEEN ? AND ?",
        [first, month],
    )
    return CurrencySection(
        currency=currency,
        totals=_totals(con, month, currency),
        category_costs=categories,
        month_complete={r["month"]: r["month_complete"] for r in recent},
        top_clients=rows(
            con,
            "SELECT c.client_id, c.client_name, c.cost, c.previous_month_cost, "
            "c.cost_change_pct, c.rank_in_month, s.billable_amount, s.markup_pct "
            "FROM client_cost_change_monthly AS c "
            "LEFT JOIN client_monthly_statement AS s USING (client_id, month, currency) "
            "WHERE c.month = ? AND c.currency = ? AND c.cost > 0 "
            "ORDER BY c.rank_in_month, c.client_id LIMIT ?",
            [month, currency, TOP_CLIENTS],
        ),
        daily=rows(
            con,
            "SELECT usage_date, cost, avg_cost_7d, month_complete FROM daily_cost_by_currency "
            "WHERE currency = ? AND usage_date >= ? AND usage_date < ? ORDER BY usage_date",
            [currency, _months_before(month, TREND_MONTHS - 1), next_month(month)],
        ),
        reconciliation=rows(
            con,
            "SELECT month, count(*) FILTER (WHERE status = 'match') AS match, "
            "count(*) FILTER (WHERE status = 'mismatch') AS mismatch, "
            "count(*) FILTER (WHERE status = 'incomplete') AS incomplete, "
            "count(*) FILTER (WHERE status = 'month_not_fetched') AS month_not_fetched, "
            "sum(daily_total_price) AS daily_total_price, "
            "sum(api_month_total_price) AS api_month_total_price, sum(difference) AS difference "
            "FROM usage_reconciliation_monthly WHERE currency = ? AND month BETWEEN ? AND ? "
            "GROUP BY month ORDER BY month",
            [currency, first, month],
        ),
        mismatches=rows(
            con,
            "SELECT r.client_id, c.name AS client_name, r.status, r.daily_total_price, "
            "r.api_month_total_price, r.difference, r.days_covered, r.days_in_month, "
            "r.api_fetched_at "
            "FROM usage_reconciliation_monthly AS r LEFT JOIN clients AS c USING (client_id) "
            "WHERE r.month = ? AND r.currency = ? AND r.status <> 'match' "
            "ORDER BY abs(r.difference) DESC, r.client_id LIMIT ?",
            [month, currency, LISTED_ROWS],
        ),
        low_balance=rows(
            con,
            "SELECT * FROM low_balance_watch WHERE currency = ? "
            "ORDER BY below_threshold DESC, days_left NULLS LAST, client_id LIMIT ?",
            [currency, LISTED_ROWS],
        ),
        spikes=rows(
            con,
            "SELECT * FROM cost_spikes WHERE currency = ? AND month = ? "
            "ORDER BY usage_date, client_id LIMIT ?",
            [currency, month, LISTED_ROWS],
        ),
        statements=rows(
            con,
            "SELECT statement_number, client_id, client_name, subtotal, adjustments_total, total, "
            "forced_reason FROM statements WHERE currency = ? AND month = ? "
            "ORDER BY statement_number",
            [currency, month],
        ),
        open_adjustments=rows(
            con,
            "SELECT a.*, c.name AS client_name FROM open_adjustments AS a "
            "LEFT JOIN clients AS c USING (client_id) WHERE a.currency = ? "
            "ORDER BY a.corrects_statement_number, a.category",
            [currency],
        ),
        partner_balance=next(
            iter(rows(con, "SELECT * FROM partner_balance_watch WHERE currency = ?", [currency])),
            None,
        ),
    )


def _totals(con: duckdb.DuckDBPyConnection, month: date, currency: str) -> Row:
    return rows(
        con,
        "SELECT sum(cost) FILTER (WHERE month = ?) AS cost, "
        "sum(billable_amount) FILTER (WHERE month = ?) AS billable_amount, "
        "count(*) FILTER (WHERE month = ?) AS clients, "
        "sum(cost) FILTER (WHERE month = ?) AS previous_cost "
        "FROM client_monthly_statement WHERE currency = ?",
        [month, month, month, _months_before(month, 1), currency],
    )[0]


def _months_before(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)
