"""What the warehouse must hold, computed independently from the simulator's own usage rows."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from pipeline.warehouse import Warehouse

TOTALS = ("quantity", "paid_quantity", "free_quantity", "free_tier", "free_entry_point")
NOT_CATEGORIES = {"quantity", "paid_quantity", "free_quantity"}


def expected_usage(sim: object, start: date, end: date) -> tuple[dict, dict]:
    """(client, day) -> totals, and (client, day, category) -> (quantity, paid, price)."""
    daily: dict = {}
    by_category: dict = {}
    for client_id in sim.client_ids():
        for row in sim.expected_usage(client_id, start, end):
            day = datetime.fromisoformat(row["period_date"].replace("Z", "+00:00")).date()
            daily[client_id, day] = (
                *(int(row.get(k, 0)) for k in TOTALS),
                Decimal(row["total_price"]),
            )
            categories = {
                k.removesuffix("_quantity")
                for k in row
                if k.endswith("_quantity")
                and not k.endswith("_paid_quantity")
                and k not in NOT_CATEGORIES
            }
            for category in categories:
                values = (
                    int(row[f"{category}_quantity"]),
                    int(row.get(f"{category}_paid_quantity", 0)),
                    Decimal(row.get(f"{category}_price", 0)),
                )
                if values != (0, 0, Decimal(0)):
                    by_category[client_id, day, category] = values
    return daily, by_category


def warehouse_usage(path: Path, start: date, end: date) -> tuple[dict, dict]:
    with Warehouse(path).read() as con:
        daily = {
            (c, d): (q, p, f, t, e, price)
            for c, d, q, p, f, t, e, price in con.execute(
                "select client_id, usage_date, quantity, paid_quantity, free_quantity, free_tier, "
                "free_entry_point, total_price from usage_daily where usage_date between ? and ?",
                [start, end],
            ).fetchall()
        }
        by_category = {
            (c, d, cat): (q, p, price)
            for c, d, cat, q, p, price in con.execute(
                "select client_id, usage_date, category, quantity, paid_quantity, price "
                "from usage_by_category where usage_date between ? and ?",
                [start, end],
            ).fetchall()
        }
    return daily, by_category


def count_rows(path: Path, sql: str, params: list | None = None) -> int:
    with Warehouse(path).read() as con:
        return con.execute(sql, params or []).fetchone()[0]
