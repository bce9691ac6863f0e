"""The report's charts: matplotlib figures rendered to inline SVG, with nothing outside the page.

Text stays text (svg.fonttype none) with a generic sans-serif fallback, so no font is embedded or
fetched; the SVG prolog, DOCTYPE, RDF metadata and namespace declarations all carry http:// URIs
that an inline <svg> in HTML does not need, so they are dropped. Money is drawn as float: a chart
is read at a glance, while the tables and the workbook carry the exact figures.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import matplotlib
import matplotlib.dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from pipeline.finance.months import month_label
from pipeline.report.data import CurrencySection

# Known categories keep their colour in every currency and every report.
CATEGORY_COLOURS = {
    "marketing": "#1f77b4",
    "marketing_lite": "#6baed6",
    "utility": "#2ca02c",
    "authentication": "#ff7f0e",
    "authentication_international": "#fdae6b",
    "service": "#9467bd",
    "business_initiated": "#8c564b",
    "user_initiated": "#e377c2",
}
OTHER_COLOURS = ("#7f7f7f", "#bcbd22", "#17becf", "#d62728", "#aec7e8", "#c49c94")
STATUS_COLOURS = {
    "match": "#2ca02c",
    "mismatch": "#d62728",
    "incomplete": "#ffbf00",
    "month_not_fetched": "#9e9e9e",
}
PARTIAL_HATCH = "///"
# Figure widths (inches at 96 px) of the page's columns: 1272 px split 1.25fr / 1fr, or whole.
# Drawn at the size they are shown, all charts' text comes out the same size on screen.
WIDE, LEFT, RIGHT = 13.2, 7.2, 5.8
# Any keys: matplotlib types rc keys as string literals, which a dict of settings never infers.
STYLE: dict[Any, object] = {
    "svg.fonttype": "none",
    # Labels are client names, which clients choose: "$x^2$" must not be drawn as mathtext
    # (nor "$\\frac$" stop the report), so no text is read as math.
    "text.parse_math": False,
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#e6e6e6",
    "axes.axisbelow": True,
}
_PROLOG = re.compile(r"\A.*?(?=<svg)", re.S)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
_NAMESPACE = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')
_SIZE = re.compile(r'\s+(width|height)="[\d.]+pt"')
_amounts = FuncFormatter(lambda value, _: f"{value:,.0f}")


def _x(day: date) -> float:
    """A day as matplotlib's x coordinate: axvspan is typed for numbers, not dates."""
    return float(mdates.date2num(day))


@contextmanager
def _figure(chart_id: str, size: tuple[float, float]) -> Iterator[Figure]:
    # A salt per chart: ids are stable from run to run and never collide between two charts.
    with matplotlib.rc_context({**STYLE, "svg.hashsalt": chart_id}):
        yield Figure(figsize=size, layout="constrained")


def _svg(figure: Figure, title: str) -> str:
    buffer = io.StringIO()
    with warnings.catch_warnings():
        # Text stays text, drawn by the reader's browser with its own fonts: a glyph missing
        # from matplotlib's font (a client's name in any script) only blurs its layout guess.
        warnings.filterwarnings("ignore", r"Glyph \d+ .* missing from font", UserWarning)
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = _METADATA.sub("", _PROLOG.sub("", buffer.getvalue()))
    text = _SIZE.sub("", _NAMESPACE.sub("", text))
    return text.replace("<svg", f'<svg role="img" aria-label="{title}"', 1).strip()


def _month_ticks(months: list[date]) -> list[str]:
    return [
        m.strftime("%b\n%Y") if i == 0 or m.month == 1 else m.strftime("%b")
        for i, m in enumerate(months)
    ]


def category_chart(section: CurrencySection, chart_id: str) -> str | None:
    """Stacked bars: cost per month by category; months not fully fetched hatched."""
    months = sorted({r["month"] for r in section.category_costs})
    if not months:
        return None
    totals: dict[str, float] = {}
    for r in section.category_costs:
        totals[r["category"]] = totals.get(r["category"], 0.0) + float(r["cost"])
    categories = [c for c in sorted(totals, key=lambda c: -totals[c]) if totals[c] > 0]
    others = iter(OTHER_COLOURS * 4)
    with _figure(chart_id, (LEFT, 3.4)) as fig:
        ax = fig.subplots()
        bottoms = [0.0] * len(months)
        for category in categories:
            heights = [0.0] * len(months)
            for r in section.category_costs:
                if r["category"] == category:
                    heights[months.index(r["month"])] = float(r["cost"])
            hatches = [_hatch(section, m) for m in months]
            bars = ax.bar(range(len(months)), heights, bottom=bottoms, label=category, width=0.75)
            colour = CATEGORY_COLOURS.get(category) or next(others)
            for bar, hatch in zip(bars, hatches, strict=True):
                bar.set_facecolor(colour)
                bar.set_hatch(hatch)
                bar.set_edgecolor("white")
            bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
        _label_partial(ax, section, months, bottoms)
        ax.set_xticks(range(len(months)), _month_ticks(months))
        ax.yaxis.set_major_formatter(_amounts)
        ax.set_ylabel(f"Cost ({section.currency})")
        ax.set_xlabel("Month (UTC)")
        ax.legend(fontsize=8, ncols=2, frameon=False, loc="upper left")
        ax.set_ylim(0, max(bottoms) * 1.25)
        return _svg(fig, f"Cost per month by category, {section.currency}")


def _hatch(section: CurrencySection, month: date) -> str:
    return "" if section.month_complete.get(month, False) else PARTIAL_HATCH


def _label_partial(
    ax: Axes, section: CurrencySection, months: list[date], tops: list[float]
) -> None:
    for i, month in enumerate(months):
        if not section.month_complete.get(month, False):
            ax.annotate("partial", (i, tops[i]), ha="center", va="bottom", fontsize=7,
                        xytext=(0, 2), textcoords="offset points", color="#a15c00")  # fmt: skip


def top_clients_chart(section: CurrencySection, month: date, chart_id: str) -> str | None:
    """Horizontal bars: the month's top clients by cost, the largest on top."""
    clients = section.top_clients
    if not clients:
        return None
    names = [_short(r["client_name"] or r["client_id"]) for r in clients]
    costs = [float(r["cost"]) for r in clients]
    with _figure(chart_id, (RIGHT, 1.0 + 0.24 * len(clients))) as fig:
        ax = fig.subplots()
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", visible=True)
        ax.barh(range(len(names)), costs, color="#1f77b4", height=0.7)
        ax.set_yticks(range(len(names)), names)
        ax.invert_yaxis()
        for i, cost in enumerate(costs):
            ax.annotate(f"{cost:,.2f}", (cost, i), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=7)  # fmt: skip
        ax.set_xlim(0, max(costs) * 1.22)
        ax.xaxis.set_major_formatter(_amounts)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.set_xlabel(f"Cost in {month_label(month)} ({section.currency})")
        return _svg(fig, f"Top clients of {month_label(month)}, {section.currency}")


def _short(name: str, width: int = 26) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def daily_chart(section: CurrencySection, chart_id: str) -> str | None:
    """Daily cost as bars with the trailing 7-day average as a line; partial months shaded."""
    days = section.daily
    if not days:
        return None
    dates = [r["usage_date"] for r in days]
    with _figure(chart_id, (WIDE, 3.0)) as fig:
        ax = fig.subplots()
        ax.bar(dates, [float(r["cost"]) for r in days], width=0.85, color="#aec7e8",
               label="cost per day")  # fmt: skip
        averaged = [
            (r["usage_date"], float(r["avg_cost_7d"])) for r in days if r["avg_cost_7d"] is not None
        ]
        if averaged:
            ax.plot(*zip(*averaged, strict=True), color="#08306b", linewidth=1.8,
                    label="7-day average")  # fmt: skip
        for first, last in _partial_spans(days):
            ax.axvspan(_x(first - timedelta(hours=12)), _x(last + timedelta(hours=12)),
                       color="#fff3cd", zorder=0, label="month not fully fetched")  # fmt: skip
        ax.xaxis.set_major_locator(mdates.MonthLocator())
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
        ax.yaxis.set_major_formatter(_amounts)
        ax.set_ylabel(f"Cost per day ({section.currency})")
        ax.set_xlabel("Day (UTC)")
        ax.set_xlim(dates[0] - timedelta(days=1), dates[-1] + timedelta(days=1))
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))
        ax.legend(
            unique.values(), unique.keys(), fontsize=8, frameon=False, loc="upper left", ncols=3
        )
        ax.set_ylim(0, max(float(r["cost"]) for r in days) * 1.2 or 1)
        return _svg(fig, f"Daily cost and 7-day average, {section.currency}")


def _partial_spans(days: list[dict]) -> list[tuple[date, date]]:
    """First and last day shown of each month not fully fetched."""
    spans: dict[date, tuple[date, date]] = {}
    for r in days:
        if not r["month_complete"]:
            month, day = r["usage_date"].replace(day=1), r["usage_date"]
            first, _ = spans.get(month, (day, day))
            spans[month] = (first, day)
    return list(spans.values())


def reconciliation_chart(section: CurrencySection, chart_id: str) -> str | None:
    """Stacked bars: client-months per reconciliation status, month by month."""
    months = [r["month"] for r in section.reconciliation]
    if not months:
        return None
    with _figure(chart_id, (LEFT, 3.0)) as fig:
        ax = fig.subplots()
        bottoms = [0] * len(months)
        for status, colour in STATUS_COLOURS.items():
            counts = [r[status] for r in section.reconciliation]
            if any(counts):
                ax.bar(
                    range(len(months)),
                    counts,
                    bottom=bottoms,
                    color=colour,
                    label=status.replace("_", " "),
                    width=0.75,
                )
                bottoms = [b + c for b, c in zip(bottoms, counts, strict=True)]
        ax.set_xticks(range(len(months)), _month_ticks(months))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("Clients")
        ax.set_xlabel("Month (UTC)")
        ax.set_ylim(0, max(bottoms) * 1.3)
        ax.legend(fontsize=8, ncols=4, frameon=False, loc="upper left")
        return _svg(fig, f"Reconciliation status per month, {section.currency}")
