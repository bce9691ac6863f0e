"""Builders of raw `/info/balance` texts, written as the API writes them (numbers as literals)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from pipeline.transform import RawBalance

FIXTURES = Path(__file__).parent / "fixtures"
T0 = datetime(2024, 3, 1, 6, 0, tzinfo=UTC)


def usage_row(day: str, **fields: str) -> str:
    """One usage row; `fields` are JSON literals (strings of the exact number text)."""
    members = [f'"period_date": "{day}T00:00:00Z"'] + [f'"{k}": {v}' for k, v in fields.items()]
    return "{" + ", ".join(members) + "}"


def balance_text(*rows: str, currency: str = "eur", extra: str = "") -> str:
    """A whole response body; rows come from `usage_row`, `extra` adds top-level members."""
    head = f'"balance": 0, "currency": "{currency}", "granularity": "day"'
    return "{" + head + extra + ', "usage": [' + ", ".join(rows) + "]}"


def vendor_text() -> str:
    """The vendor's example response (its last_renewal.date typo fixed, comments removed)."""
    return (FIXTURES / "vendor_balance.json").read_text()


def vendor_json(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def raw(text: str, client_id: str = "c1", fetched_at: datetime = T0) -> RawBalance:
    return RawBalance(client_id=client_id, raw_text=text, fetched_at=fetched_at)
