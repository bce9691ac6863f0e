"""GET .../clients/{client_id}/info/balance: the query's meaning and the response body."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from .errors import bad_request
from .pricing import rate
from .render import timestamp
from .usage import UsageGenerator, UsageRow, monthly_rows
from .usage_wire import rows_json
from .wire import dumps
from .world import Client

DEFAULT_START = 0
DEFAULT_END = 4102358400  # the vendor's documented default, 2099-12-31T00:00:00Z


@dataclass(frozen=True)
class BalanceQuery:
    first: date  # first day whose 00:00:00Z lies in [start_date, end_date]
    last: date
    granularity: str  # "day" or "month"
    app_ids: frozenset[str] | None


def parse_balance_query(
    start_date: int,
    end_date: int,
    granularity: str,
    app_id: Sequence[str] | None,
    history: tuple[date, date],
    max_window_days: int | None,
) -> BalanceQuery:
    """history is (first day with usage, last day with usage); the window width is measured on
    the part of the request that overlaps it."""
    if start_date > end_date:
        raise bad_request("start_date is after end_date", f"{start_date} > {end_date}")
    granularity = granularity.lower()
    if granularity not in ("day", "month"):
        raise bad_request("granularity must be day or month", f"got {granularity!r}")
    first = _day(start_date + 86_399)  # a day counts when its 00:00:00Z is >= start_date
    last = _day(end_date)
    overlap = (min(last, history[1]) - max(first, history[0])).days + 1
    if max_window_days is not None and overlap > max_window_days:
        raise bad_request(
            "Date window too wide",
            f"at most {max_window_days} days per request, asked for {overlap}",
        )
    ids = None
    if app_id is not None:
        ids = frozenset(
            part.strip() for value in app_id for part in value.split(",") if part.strip()
        )
    return BalanceQuery(first, last, granularity, ids)


def _day(unix_seconds: int) -> date:
    # Clamped so huge or tiny values stay valid dates (they only mean "no bound").
    seconds = min(max(unix_seconds, 0), 253402214400)
    return datetime.fromtimestamp(seconds, UTC).date()


def usage_rows(
    client: Client, usage: UsageGenerator, query: BalanceQuery, drift: bool
) -> list[UsageRow]:
    rows: list[UsageRow] = []
    if query.first <= query.last:
        rows = usage.day_rows(client, query.first, query.last, query.app_ids, drift)
    return monthly_rows(rows) if query.granularity == "month" else rows


def balance_fields(client: Client, granularity: str, drift: bool) -> dict[str, Any]:
    """Everything but the usage rows. With drift on, estimated_template_cost is missing, and
    so is a partner-paid client's last_renewal."""
    currency = client.currency
    body: dict[str, Any] = {
        "balance": client.balance,
        "currency": currency.lower(),
        "last_renewal": _last_renewal(client),
        "bi_price_for_currency_and_client_country": rate(currency, "business_initiated"),
        "ui_price_for_currency_and_client_country": rate(currency, "user_initiated"),
        "estimated_template_cost": rate(currency, "marketing"),
        "granularity": granularity,
    }
    if drift:
        del body["estimated_template_cost"]
        if client.partner_paid:
            del body["last_renewal"]
    return body


def balance_json(client: Client, usage: UsageGenerator, query: BalanceQuery, drift: bool) -> bytes:
    """The whole body; usage is its last key, written by the fast row writer."""
    fields = dumps(balance_fields(client, query.granularity, drift))
    rows = rows_json(usage_rows(client, usage, query, drift), client.currency)
    return b"".join((fields[:-1], b',"usage":', rows.encode(), b"}"))


def _last_renewal(client: Client) -> dict[str, Any]:
    if client.last_renewal is None:  # partner-paid: nothing is ever renewed with 360dialog
        return {"date": None, "amount": Decimal(0)}
    when, amount = client.last_renewal
    return {"date": timestamp(when), "amount": amount}
