"""Usage rows, generated on demand per (channel, day) from a hash-seeded RNG: nothing is stored.

A client's day row is the sum of its channels' days; a month row is the sum of its day rows.
Each row fills one category family (the direction pair before June 2023, pricing categories
after) and that family adds up to the row's quantity, paid_quantity and total_price.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from .hashing import rng_for, stable_int
from .pricing import (
    DIRECTION,
    DRIFT_CATEGORY,
    PER_MESSAGE_FROM,
    PRICING,
    PRICING_CATEGORIES_FROM,
    SERVICE_FREE_FROM,
    rate,
)
from .world import Channel, Client, World

Row = dict[str, Any]


@dataclass
class CategoryCount:
    quantity: int = 0
    free_tier: int = 0
    free_entry_point: int = 0

    def add(self, other: CategoryCount) -> None:
        self.quantity += other.quantity
        self.free_tier += other.free_tier
        self.free_entry_point += other.free_entry_point


class UsageGenerator:
    def __init__(self, world: World, seed: int, estimate_days: int = 0) -> None:
        self.world = world
        self.seed = seed
        self.estimate_days = estimate_days

    def day_rows(
        self,
        client: Client,
        first: date,
        last: date,
        app_ids: Collection[str] | None = None,
        drift: bool = False,
    ) -> list[Row]:
        """Rows for the days first..last (inclusive) that had usage, oldest first."""
        channels = [
            ch
            for ch in self.world.channels_of(client.id)
            if app_ids is None or ch.app_id in app_ids
        ]
        first = max(first, self.world.history_start)
        last = min(last, self.world.today - timedelta(days=1))
        rows = []
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            counts: dict[str, CategoryCount] = {}
            for channel in channels:
                for category, count in self._channel_day(client, channel, day).items():
                    counts.setdefault(category, CategoryCount()).add(count)
            _as_estimate(counts, (self.world.today - day).days, self.estimate_days)
            if sum(count.quantity for count in counts.values()) == 0:
                continue
            if drift:
                self._drift(client, day, counts)
            rows.append(_priced_row(day, counts, client.currency))
        return rows

    def _channel_day(self, client: Client, channel: Channel, day: date) -> dict[str, CategoryCount]:
        start, end = channel.usage_days()
        profile = client.profile
        if day < start or (end is not None and day >= end) or profile.volume_scale == 0:
            return {}
        rng = rng_for(self.seed, "usage", channel.id, day.toordinal())
        years = (day - start).days / 365.0
        season = 1 + 0.12 * math.sin(2 * math.pi * (day.timetuple().tm_yday - 100) / 365)
        if (day.month, day.day) >= (11, 20) and (day.month, day.day) <= (12, 24):
            season += 0.35  # Black Friday to Christmas
        weekday = profile.weekend_factor if day.weekday() >= 5 else 1.0
        volume = (
            channel.base_volume
            * profile.volume_scale
            * weekday
            * season
            * (1 + profile.growth_per_year) ** years
            * max(0.0, rng.gauss(1, 0.2))
        )
        if day < PRICING_CATEGORIES_FROM:
            shares = {
                "business_initiated": profile.business_initiated_share,
                "user_initiated": 1 - profile.business_initiated_share,
            }
        else:
            shares = dict(profile.pricing_mix)
            if day >= PER_MESSAGE_FROM and channel.marketing_lite:
                shares["marketing_lite"] = 0.4 * shares["marketing"]
            if day >= PER_MESSAGE_FROM and profile.international_authentication:
                shares["authentication_international"] = 0.25 * shares["authentication"]
        counts = {}
        for category, share in shares.items():
            quantity = round(volume * share * rng.uniform(0.7, 1.3))
            counts[category] = _free_split(category, quantity, day, rng)
        return counts

    def _drift(self, client: Client, day: date, counts: dict[str, CategoryCount]) -> None:
        """Moves some paid marketing messages into a category clients have never seen."""
        marketing = counts.get("marketing")
        if day < PRICING_CATEGORIES_FROM or marketing is None:
            return
        paid = marketing.quantity - marketing.free_tier - marketing.free_entry_point
        if paid < 1 or stable_int(self.seed, "drift", client.id, day.toordinal()) % 3:
            return
        moved = max(1, paid // 4)
        marketing.quantity -= moved
        counts[DRIFT_CATEGORY] = CategoryCount(quantity=moved)


def _as_estimate(counts: dict[str, CategoryCount], age: int, estimate_days: int) -> None:
    """A recent day (age 1 is yesterday) is reported 4% short per day it lacks to be final."""
    if age > estimate_days:
        return
    percent = 100 - 4 * (estimate_days + 1 - age)
    for count in counts.values():
        count.quantity = count.quantity * percent // 100
        count.free_tier = min(count.free_tier, count.quantity)
        count.free_entry_point = min(count.free_entry_point, count.quantity - count.free_tier)


def _free_split(category: str, quantity: int, day: date, rng: Any) -> CategoryCount:
    """Which of a category's messages were free, following the era's rules."""
    count = CategoryCount(quantity=quantity)
    if category in ("user_initiated", "service"):
        if category == "service" and day >= SERVICE_FREE_FROM:
            count.free_tier = quantity
        elif day.day <= 10:  # the monthly free tier is used up early in the month
            count.free_tier = min(quantity, rng.randint(0, 30))
    elif category in ("business_initiated", "marketing"):
        count.free_entry_point = min(quantity, rng.randint(0, quantity // 20))
    elif category == "utility" and day >= PER_MESSAGE_FROM:
        count.free_entry_point = quantity * 3 // 10  # inside an open customer-service window
    return count


def _priced_row(day: date, counts: dict[str, CategoryCount], currency: str) -> Row:
    row: Row = {"period_date": f"{day.isoformat()}T00:00:00Z"}
    totals = CategoryCount()
    total_price = Decimal(0)
    for category in (*DIRECTION, *PRICING, *sorted(set(counts) - set(DIRECTION) - set(PRICING))):
        count = counts.get(category, CategoryCount())
        paid = count.quantity - count.free_tier - count.free_entry_point
        price = rate(currency, category) * paid
        row[f"{category}_quantity"] = count.quantity
        row[f"{category}_paid_quantity"] = paid
        row[f"{category}_price"] = price
        totals.add(count)
        total_price += price
    free = totals.free_tier + totals.free_entry_point
    row.update(
        quantity=totals.quantity,
        paid_quantity=totals.quantity - free,
        free_quantity=free,
        free_tier=totals.free_tier,
        free_entry_point=totals.free_entry_point,
        total_price=total_price,
    )
    return dict(sorted(row.items()))


def monthly_rows(day_rows: list[Row]) -> list[Row]:
    """Sums day rows per calendar month; a column present on any day is present on the month."""
    months: dict[str, Row] = {}
    for row in day_rows:
        period = row["period_date"][:8] + "01T00:00:00Z"
        month = months.setdefault(period, {"period_date": period})
        for key, value in row.items():
            if key != "period_date":
                month[key] = month.get(key, 0) + value
    return [dict(sorted(month.items())) for month in months.values()]
