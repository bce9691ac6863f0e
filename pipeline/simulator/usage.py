"""Usage rows per channel and day, a client's rows as their sum, and months as sums of days.

The channel-day is the unit: recent estimates and schema drift are applied to each channel's
counts, and a client's row is the sum of its channels' rows. So the rows served with
`app_id=<one channel>` for each of a client's channels add up exactly, in every column, to the
row served without a filter, estimates included; a month row is the sum of its day rows.
Each row fills one category family (the direction pair before June 2023, pricing categories
after) and that family adds up to the row's quantity, paid_quantity and total_price.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from .channel_day import ChannelCounts, ChannelDays
from .hashing import stable_int
from .pricing import DRIFT_CATEGORY, PRICING_CATEGORIES_FROM
from .world import Channel, Client, World

_PRICING_FROM = PRICING_CATEGORIES_FROM.toordinal()


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One period's usage: (category, quantity, free_tier, free_entry_point) per category."""

    period_date: str  # e.g. 2023-08-10T00:00:00Z (a month row: its first day)
    counts: ChannelCounts

    @property
    def quantity(self) -> int:
        return sum(count[1] for count in self.counts)


class UsageGenerator:
    def __init__(self, world: World, seed: int, estimate_days: int = 0) -> None:
        self.world = world
        self.seed = seed
        self.estimate_days = estimate_days
        self.channel_days = ChannelDays(seed)

    def day_rows(
        self,
        client: Client,
        first: date,
        last: date,
        app_ids: Collection[str] | None = None,
        drift: bool = False,
    ) -> list[UsageRow]:
        """A client's rows for the days first..last (inclusive) that had usage, oldest first:
        the sum of the channels app_ids names (all of them when None)."""
        first_day = max(first, self.world.history_start).toordinal()
        last_day = min(last, self.world.today - timedelta(days=1)).toordinal()
        windows = [
            window
            for channel in self.world.channels_of(client.id)
            if app_ids is None or channel.app_id in app_ids
            if (window := self._channel_window(client, channel, first_day, last_day, drift))
        ]
        by_day: Iterable[tuple[int, ChannelCounts]]
        if len(windows) == 1:  # most clients' requests: one channel's days are the rows
            first_day, days = windows[0]
            by_day = enumerate(days, first_day)
        else:
            by_day = _add_up_days(windows)
        period_date = self.channel_days.period_date
        return [
            UsageRow(period_date(ordinal), counts)
            for ordinal, counts in by_day
            if any(count[1] for count in counts)
        ]

    def _channel_window(
        self, client: Client, channel: Channel, first: int, last: int, drift: bool
    ) -> tuple[int, list[ChannelCounts]] | None:
        """The first day and the counts the API reports today for the channel's days within
        first..last (ordinals) on which it existed; None when there are none."""
        start, end = _active_days(channel)
        first, last = max(first, start), min(last, end - 1)
        if first > last:
            return None
        days = self.channel_days.window(client, channel, first, last)
        estimated_from = self.world.today.toordinal() - self.estimate_days
        for ordinal in range(max(first, estimated_from), last + 1):
            age = self.world.today.toordinal() - ordinal
            days[ordinal - first] = _as_estimate(days[ordinal - first], age, self.estimate_days)
        if drift:
            days = [self._drift(channel, first + i, counts) for i, counts in enumerate(days)]
        return first, days

    def _drift(self, channel: Channel, ordinal: int, counts: ChannelCounts) -> ChannelCounts:
        """Moves some paid marketing messages into a category clients have never seen."""
        if ordinal < _PRICING_FROM:
            return counts
        marketing = next((count for count in counts if count[0] == "marketing"), None)
        if marketing is None:
            return counts
        _, quantity, free_tier, free_entry_point = marketing
        paid = quantity - free_tier - free_entry_point
        if paid < 1 or stable_int(self.seed, "drift", channel.id, ordinal) % 3:
            return counts
        moved = max(1, paid // 4)
        kept = tuple(
            (name, q - moved, ft, fe) if name == "marketing" else (name, q, ft, fe)
            for name, q, ft, fe in counts
        )
        return (*kept, (DRIFT_CATEGORY, moved, 0, 0))


def _active_days(channel: Channel) -> tuple[int, int]:
    """Ordinals of the first day with possible usage and the first without."""
    start, end = channel.usage_days()
    return start.toordinal(), end.toordinal() if end is not None else date.max.toordinal()


def _as_estimate(counts: ChannelCounts, age: int, estimate_days: int) -> ChannelCounts:
    """A recent day (age 1 is yesterday) is reported 4% short per day it lacks to be final.
    Applied per channel, so a client's estimate is the sum of its channels' estimates."""
    percent = 100 - 4 * (estimate_days + 1 - age)
    estimated = []
    for category, quantity, free_tier, free_entry_point in counts:
        quantity = quantity * percent // 100
        free_tier = min(free_tier, quantity)
        estimated.append(
            (category, quantity, free_tier, min(free_entry_point, quantity - free_tier))
        )
    return tuple(estimated)


def add_up(parts: Iterable[ChannelCounts]) -> ChannelCounts:
    """Category by category, in the order categories first appear."""
    totals: dict[str, list[int]] = {}
    for part in parts:
        for category, quantity, free_tier, free_entry_point in part:
            total = totals.get(category)
            if total is None:
                totals[category] = [quantity, free_tier, free_entry_point]
            else:
                total[0] += quantity
                total[1] += free_tier
                total[2] += free_entry_point
    return tuple((category, q, ft, fe) for category, (q, ft, fe) in totals.items())


def _add_up_days(
    windows: list[tuple[int, list[ChannelCounts]]],
) -> list[tuple[int, ChannelCounts]]:
    """Day by day, the sum of the channels that existed that day."""
    by_day: dict[int, list[ChannelCounts]] = {}
    for first, days in windows:
        for ordinal, counts in enumerate(days, first):
            by_day.setdefault(ordinal, []).append(counts)
    return [(ordinal, add_up(by_day[ordinal])) for ordinal in sorted(by_day)]


def monthly_rows(day_rows: list[UsageRow]) -> list[UsageRow]:
    """Sums day rows per calendar month; a category present on any day is present on the
    month."""
    months: dict[str, list[ChannelCounts]] = {}
    for row in day_rows:
        months.setdefault(row.period_date[:8] + "01T00:00:00Z", []).append(row.counts)
    return [UsageRow(period, add_up(days)) for period, days in months.items()]
