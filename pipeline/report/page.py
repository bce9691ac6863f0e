"""The report as one self-contained HTML page: inline CSS, inline SVG charts, no external link."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from html import escape
from typing import Any

from pipeline.finance.months import month_label
from pipeline.report.data import BILLABLE_ROUNDING, CurrencySection, ReportData, Row

MISSING = "\u2013"  # an en dash where a figure is absent
CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  margin: 0; color: #1d2330; background: #f4f6f9; font-size: 14px; }
header, section, footer { max-width: 1320px; margin: 0 auto; padding: 16px 24px; }
header h1 { margin: 8px 0 4px; font-size: 26px; }
.meta { color: #5a6272; margin: 2px 0; }
.status { padding: 8px 12px; border-radius: 6px; margin: 10px 0; font-weight: 600; }
.status.ok { background: #e3f4e5; color: #1d5e2a; }
.status.partial { background: #fff3cd; color: #7a4d00; }
nav a { margin-right: 10px; font-weight: 600; color: #1f5fbf; text-decoration: none; }
section { background: #fff; border-radius: 10px; margin-top: 18px;
  box-shadow: 0 1px 3px rgba(0, 0, 0, .08); }
h2 { font-size: 22px; margin: 6px 0 12px; }
h2 .currency { background: #1f5fbf; color: #fff; border-radius: 6px; padding: 2px 10px; }
h3 { font-size: 15px; margin: 4px 0 8px; }
.kpis { display: grid; grid-template-columns: repeat(5, 1fr); gap: 12px; margin-bottom: 14px; }
.kpi { background: #f4f6f9; border-radius: 8px; padding: 10px 12px; }
.kpi .label { color: #5a6272; font-size: 12px; }
.kpi .value { font-size: 20px; font-weight: 700; margin-top: 2px; }
.grid { display: grid; grid-template-columns: 1.25fr 1fr; gap: 18px; align-items: start; }
.wide { grid-column: 1 / -1; }
figure { margin: 0; }
figure svg { width: 100%; height: auto; display: block; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
th, td { padding: 4px 6px; border-bottom: 1px solid #e6e8ec; text-align: left; }
th { color: #5a6272; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.alert td { background: #fde8e8; }
.badge { border-radius: 4px; padding: 1px 6px; font-size: 11.5px; font-weight: 600; }
.badge.match { background: #e3f4e5; color: #1d5e2a; }
.badge.mismatch { background: #fde8e8; color: #9b1c1c; }
.badge.incomplete, .badge.month_not_fetched, .badge.partial { background: #fff3cd; color: #7a4d00; }
.note { color: #5a6272; font-size: 12px; margin: 4px 0 0; }
footer { color: #5a6272; font-size: 12px; }
"""


def money(value: Decimal | None) -> str:
    """Cents, half away from zero like billable_amount, with thousands separators."""
    if value is None:
        return MISSING
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"


def change(now: Decimal | None, before: Decimal | None) -> str:
    if now is None or not before:
        return MISSING
    percent = ((now - before) / before * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{percent:+}%"


def render_page(data: ReportData, generated_at: datetime, source: str) -> str:
    title = f"Usage and billing report: {month_label(data.month)}"
    nav = " ".join(
        f'<a href="#cur-{escape(s.currency)}">{escape(s.currency)}</a>' for s in data.sections
    )
    body = "\n".join(_section(data, s) for s in data.sections) or (
        '<section><p class="note">No usage in this month or the year before it.</p></section>'
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>
<body><header>
<h1>{escape(title)}</h1>
<p class="meta">Generated {generated_at:%Y-%m-%d %H:%M} UTC from {escape(source)} ·
default markup {data.settings["default_markup_pct"].normalize():f}% (clients without their own) ·
low balance: fewer than {data.settings["low_balance_days"]} days left</p>
{_status(data)}
<nav>Currencies (never added together): {nav}</nav>
</header>
{body}
<footer><p>{escape(BILLABLE_ROUNDING)}</p>
<p>Amounts are rounded to the cent for display; the statement workbook and the warehouse
views keep the exact figures. Months are calendar months in UTC. Categories: each client-day
counts in one cut (pricing categories, or the business/user-initiated pair before them).</p>
</footer></body></html>
"""


def _status(data: ReportData) -> str:
    status = data.status
    if status.complete:
        text = (
            f"{month_label(data.month)} is fully fetched: every day for all "
            f"{status.clients_expected} clients."
        )
        return f'<p class="status ok">{escape(text)}</p>'
    text = (
        f"{month_label(data.month)} is NOT fully fetched: {status.clients_complete} of "
        f"{status.clients_expected} clients have every day. Its figures may still grow."
    )
    return f'<p class="status partial">{escape(text)}</p>'


def _section(data: ReportData, s: CurrencySection) -> str:
    # matplotlib loads when a chart is drawn, not with the Dagster definitions: 0.4 CPU-seconds of
    # every `python -m pipeline` start and every step process.
    from pipeline.report import charts

    cur, month = escape(s.currency), escape(month_label(data.month))

    def chart_id(kind: str) -> str:
        return f"chart-{s.currency}-{kind}"

    categories = _figure(
        chart_id("categories"),
        "Cost per month by category",
        charts.category_chart(s, chart_id("categories")),
        "Hatched: month not fully fetched." if not all(s.month_complete.values()) else "",
    )
    top = _figure(
        chart_id("top-clients"),
        f"Top clients of {month_label(data.month)}",
        charts.top_clients_chart(s, data.month, chart_id("top-clients")),
    )
    daily = _figure(
        chart_id("daily"),
        "Daily cost with its 7-day average",
        charts.daily_chart(s, chart_id("daily")),
        "Days without usage count as 0.",
    )
    reconciliation = _figure(
        chart_id("reconciliation"),
        "Reconciliation: our days against the API's month figure",
        charts.reconciliation_chart(s, chart_id("reconciliation")),
    )
    return f"""<section id="cur-{cur}">
<h2><span class="currency">{cur}</span> {month}</h2>
{_kpis(s, data.status.complete)}
<div class="grid">
{categories}
{top}
<div class="wide">{daily}</div>
<div class="wide"><h3>Top clients</h3>{_top_clients(s)}</div>
{reconciliation}
<div><h3>Not matching in {month}</h3>{_mismatches(s)}</div>
<div><h3>Low balance (direct-paid clients)</h3>{_low_balance(s, data.settings)}</div>
<div><h3>Cost spikes in {month}</h3>{_spikes(s)}</div>
<div class="wide"><h3>Statements of {month}</h3>{_statements(s, data.month)}</div>
</div></section>"""


def _figure(chart_id: str, caption: str, svg: str | None, note: str = "") -> str:
    inner = svg or '<p class="note">No data.</p>'
    note_html = f'<p class="note">{escape(note)}</p>' if note and svg else ""
    return f'<figure id="{escape(chart_id)}"><h3>{escape(caption)}</h3>{inner}{note_html}</figure>'


def _kpis(s: CurrencySection, month_complete: bool) -> str:
    t, cur, partner = s.totals, s.currency, s.partner_balance
    partner_text = MISSING
    if partner and partner["total"] is not None:
        days = partner["days_left"]
        partner_text = money(partner["total"]) + (f" · {days:,.1f} days" if days else "")
    cards = [
        (f"Cost ({cur})", money(t["cost"])),
        (f"Billable with markup ({cur})", money(t["billable_amount"])),
        ("Clients with usage", f"{t['clients']:,}"),
        # A month still being fetched is compared with a whole one: say so where the figure is.
        (
            "Cost vs month before" + ("" if month_complete else " (partial month)"),
            change(t["cost"], t["previous_cost"]),
        ),
        (f"Partner balance ({cur})", partner_text),
    ]
    return (
        '<div class="kpis">'
        + "".join(
            f'<div class="kpi"><div class="label">{escape(label)}</div>'
            f'<div class="value">{escape(value)}</div></div>'
            for label, value in cards
        )
        + "</div>"
    )


def _table(headers: list[str], rows: list[list[Any]], alerts: list[bool] | None = None) -> str:
    if not rows:
        return '<p class="note">None.</p>'
    numeric = [h.endswith(" ") for h in headers]  # a trailing space marks a numeric column
    head = "".join(
        f'<th class="{"num" if n else ""}">{escape(h.strip())}</th>'
        for h, n in zip(headers, numeric, strict=True)
    )
    body = []
    for i, row in enumerate(rows):
        cells = "".join(
            f'<td class="{"num" if n else ""}">{cell}</td>'
            for cell, n in zip(row, numeric, strict=True)
        )
        body.append(f'<tr class="{"alert" if alerts and alerts[i] else ""}">{cells}</tr>')
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _name(row: Row) -> str:
    return escape(row.get("client_name") or row["client_id"])


def _top_clients(s: CurrencySection) -> str:
    return _table(
        ["#", "Client", "Cost ", "Month before ", "Change ", "Markup % ", "Billable "],
        [
            [
                r["rank_in_month"],
                _name(r),
                money(r["cost"]),
                money(r["previous_month_cost"]),
                change(r["cost"], r["previous_month_cost"]),
                f"{r['markup_pct'].normalize():f}" if r["markup_pct"] is not None else MISSING,
                money(r["billable_amount"]),
            ]
            for r in s.top_clients
        ],
    )


def _mismatches(s: CurrencySection) -> str:
    return (
        _table(
            ["Client", "Status", "Our days ", "API month ", "Difference ", "Days fetched "],
            [
                [
                    _name(r),
                    f'<span class="badge {r["status"]}">{r["status"].replace("_", " ")}</span>',
                    money(r["daily_total_price"]),
                    money(r["api_month_total_price"]) if r["api_fetched_at"] else "no figure",
                    money(r["difference"]),
                    f"{r['days_covered']}/{r['days_in_month']}",
                ]
                for r in s.mismatches
            ],
        )
        + '<p class="note">Match: every day fetched and the sum equals the API\'s month figure.</p>'
    )


def _low_balance(s: CurrencySection, settings: Row) -> str:
    days = settings["low_balance_days"]
    note = (
        f'<p class="note">Highlighted: fewer than {days} days left at the last 7 days\' pace.</p>'
    )
    return note + _table(
        ["Client", "Balance ", "Per day (7 d) ", "Days left ", "Last renewal"],
        [
            [
                _name(r),
                money(r["balance"]),
                money(r["avg_daily_cost_7d"]),
                f"{r['days_left']:,.1f}" if r["days_left"] is not None else MISSING,
                _day(r["last_renewal_date"]),
            ]
            for r in s.low_balance
        ],
        [r["below_threshold"] for r in s.low_balance],
    )


def _spikes(s: CurrencySection) -> str:
    return _table(
        ["Day", "Client", "Cost ", "Usual (median 28 d) ", "Times usual "],
        [
            [
                _day(r["usage_date"]),
                _name(r),
                money(r["cost"]),
                money(r["median_cost_28d"]),
                f"{r['spike_ratio']}\u00d7" if r["spike_ratio"] is not None else "from 0",
            ]
            for r in s.spikes
        ],
    ) + (
        '<p class="note">A spike: more than 3 times the client\'s median day of the 28 fetched '
        "days before, at least 10.00 above it, with 14 days of history.</p>"
    )


def _statements(s: CurrencySection, month: date) -> str:
    if not s.statements:
        closed = (
            f'<p class="note">{escape(month_label(month))} is not closed yet: '
            f"python -m pipeline close --month {month:%Y-%m}</p>"
        )
    else:
        closed = _table(
            ["Statement", "Client", "Usage and fees ", "Adjustments ", "Total ", "Closed with"],
            [
                [
                    escape(r["statement_number"]),
                    _name(r),
                    money(r["subtotal"]),
                    money(r["adjustments_total"]),
                    money(r["total"]),
                    escape(f"--force: {r['forced_reason']}") if r["forced_reason"] else "",
                ]
                for r in s.statements
            ],
        )
    if not s.open_adjustments:
        return closed
    return closed + (
        "<h3>Corrections found, for the next statements</h3>"
        + _table(
            ["Corrects", "Client", "Month", "Category", "Amount "],
            [
                [
                    escape(r["corrects_statement_number"]),
                    _name(r),
                    escape(f"{r['month']:%Y-%m}"),
                    escape(r["category"]),
                    money(r["amount"]),
                ]
                for r in s.open_adjustments
            ],
        )
    )


def _day(value: date | datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else MISSING
