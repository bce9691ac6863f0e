"""What one channel sends on one day, before any estimate: counts per category.

Each (channel, day) has its own hash-seeded random stream, so a day never depends on which
other days were asked for, and the same seed gives the same counts in every process. Drawing
them is most of a balance request's cost, so everything that does not change per day is
computed once per channel, and recent channel-days are kept in a bounded cache (a client's
total and then each of its channels over the same window draw the same days).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

from .pricing import PER_MESSAGE_FROM, PRICING_CATEGORIES_FROM, SERVICE_FREE_FROM
from .world import Channel, Client

# (category, quantity, free_tier, free_entry_point) per category, in the era's category order.
ChannelCounts = tuple[tuple[str, int, int, int], ...]

# About 650 bytes each, so at most ~20 MB: room for every client window a pipeline has in
# flight (16 clients x 3 channels x 365 days is 17,520), which is when days are asked again.
CACHE_CHANNEL_DAYS = 30_000

_PRICING_FROM = PRICING_CATEGORIES_FROM.toordinal()
_SERVICE_FREE_FROM = SERVICE_FREE_FROM.toordinal()
_PER_MESSAGE_FROM = PER_MESSAGE_FROM.toordinal()
_UNIFORM_LOW, _UNIFORM_SPAN = 0.7, 1.3 - 0.7  # random.uniform(0.7, 1.3), inlined exactly


@dataclass(frozen=True)
class _Calendar:
    """What a day contributes to every channel's volume."""

    season: float
    weekend: bool
    day_of_month: int
    period_date: str


@dataclass(frozen=True)
class _ChannelPlan:
    """A channel's fixed inputs: its random streams' key, volume and category shares per era."""

    key_prefix: str
    created: int  # ordinal of the day the channel was created
    scale: float  # base volume times the client's volume scale
    growth: float  # 1 + growth per year
    weekend_factor: float
    # (category, share) per pricing era: direction pair, conversation categories, per message
    shares: tuple[tuple[tuple[str, float], ...], ...]


class ChannelDays:
    def __init__(self, seed: int, cache_size: int = CACHE_CHANNEL_DAYS) -> None:
        self.seed = seed
        self.cache_size = cache_size
        self._plans: dict[str, _ChannelPlan] = {}
        self._calendar: dict[int, _Calendar] = {}
        self._cache: OrderedDict[tuple[str, int], ChannelCounts] = OrderedDict()

    def window(
        self, client: Client, channel: Channel, first: int, last: int
    ) -> list[ChannelCounts]:
        """Final counts of the channel on each day first..last (ordinals, inclusive), whether
        or not it existed then (that is the caller's question); a client that never sends
        anything has empty counts."""
        cache = self._cache
        plan = None
        window = []
        for ordinal in range(first, last + 1):
            key = (channel.id, ordinal)
            counts = cache.get(key)
            if counts is None:
                plan = plan or self._plan(client, channel)
                counts = cache[key] = self._draw(plan, ordinal)
            window.append(counts)
        while len(cache) > self.cache_size:
            cache.popitem(last=False)  # oldest first: windows are asked for in turn
        return window

    def period_date(self, ordinal: int) -> str:
        """The day as the API writes it, e.g. 2023-08-10T00:00:00Z."""
        return self._day(ordinal).period_date

    def _plan(self, client: Client, channel: Channel) -> _ChannelPlan:
        plan = self._plans.get(channel.id)
        if plan is None:
            plan = self._plans[channel.id] = _make_plan(self.seed, client, channel)
        return plan

    def _day(self, ordinal: int) -> _Calendar:
        calendar = self._calendar.get(ordinal)
        if calendar is None:
            calendar = self._calendar[ordinal] = _make_calendar(date.fromordinal(ordinal))
        return calendar

    def _draw(self, plan: _ChannelPlan, ordinal: int) -> ChannelCounts:
        """The generator's original arithmetic, operation for operation, so counts stay the
        same floats and the same integers as before it was made fast."""
        if plan.scale == 0:
            return ()
        key = (plan.key_prefix + str(ordinal)).encode()
        rng = random.Random(int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big"))
        day = self._day(ordinal)
        years = (ordinal - plan.created) / 365.0
        weekday = plan.weekend_factor if day.weekend else 1.0
        volume = (
            plan.scale * weekday * day.season * plan.growth**years * max(0.0, rng.gauss(1, 0.2))
        )
        era = 0 if ordinal < _PRICING_FROM else 1 if ordinal < _PER_MESSAGE_FROM else 2
        uniform = rng.random
        counts = []
        for category, share in plan.shares[era]:
            quantity = round(volume * share * (_UNIFORM_LOW + _UNIFORM_SPAN * uniform()))
            free_tier = free_entry_point = 0
            if category == "service" and ordinal >= _SERVICE_FREE_FROM:
                free_tier = quantity
            elif category in ("user_initiated", "service"):
                if day.day_of_month <= 10:  # the monthly free tier is used up early in the month
                    free_tier = min(quantity, rng.randint(0, 30))
            elif category in ("business_initiated", "marketing"):
                free_entry_point = min(quantity, rng.randint(0, quantity // 20))
            elif category == "utility" and era == 2:
                free_entry_point = quantity * 3 // 10  # inside an open customer-service window
            counts.append((category, quantity, free_tier, free_entry_point))
        return tuple(counts)


def _make_plan(seed: int, client: Client, channel: Channel) -> _ChannelPlan:
    profile = client.profile
    direction = (
        ("business_initiated", profile.business_initiated_share),
        ("user_initiated", 1 - profile.business_initiated_share),
    )
    conversation = tuple(profile.pricing_mix.items())
    per_message = list(conversation)
    if channel.marketing_lite:
        per_message.append(("marketing_lite", 0.4 * profile.pricing_mix["marketing"]))
    if profile.international_authentication:
        per_message.append(
            ("authentication_international", 0.25 * profile.pricing_mix["authentication"])
        )
    return _ChannelPlan(
        # The key hashing.stable_int(seed, "usage", channel id, ordinal) has always used.
        key_prefix=f"{seed}\x1fusage\x1f{channel.id}\x1f",
        created=channel.created_at.date().toordinal(),
        scale=channel.base_volume * profile.volume_scale,
        growth=1 + profile.growth_per_year,
        weekend_factor=profile.weekend_factor,
        shares=(direction, conversation, tuple(per_message)),
    )


def _make_calendar(day: date) -> _Calendar:
    season = 1 + 0.12 * math.sin(2 * math.pi * (day.timetuple().tm_yday - 100) / 365)
    if (11, 20) <= (day.month, day.day) <= (12, 24):
        season += 0.35  # Black Friday to Christmas
    return _Calendar(season, day.weekday() >= 5, day.day, f"{day.isoformat()}T00:00:00Z")
