"""The partner's account state: partner, clients, channels; the write endpoints change it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any


@dataclass
class Partner:
    id: str
    brand_name: str
    webhook_url: str | None
    partner_redirect_url: str | None
    allow_client_to_add_phone_no: bool
    default_data_localization_region: str | None
    # The prepaid balance per top-up currency (ISO upper case, e.g. "EUR"), in top-up order.
    balances: dict[str, Decimal]


@dataclass
class UsageProfile:
    """How much and what a client sends; fixed per client, read by the usage generator."""

    volume_scale: float  # 0 for clients that never send anything
    growth_per_year: float
    business_initiated_share: float
    pricing_mix: dict[str, float]  # authentication/marketing/service/utility shares
    weekend_factor: float
    international_authentication: bool


@dataclass
class Client:
    id: str
    name: str
    status: str
    organisation: str
    meta_info: dict[str, str]
    contact_info: dict[str, str]
    contact_user: dict[str, str]
    partner_payload: str | None
    created_at: datetime
    modified_at: datetime
    max_channels: int
    currency: str  # ISO upper case
    partner_paid: bool
    balance: Decimal  # meaningful only when paying 360dialog directly
    last_renewal: tuple[datetime, Decimal] | None
    profile: UsageProfile


@dataclass
class Channel:
    id: str
    client_id: str
    app_id: str
    phone_number: str
    phone_name: str
    created_at: datetime
    modified_at: datetime
    cancelled_at: datetime | None
    terminated_at: datetime | None
    hub_status: str
    current_limit: str
    current_quality_rating: str
    hosting_platform_type: str
    data_localization_region: str | None
    waba: dict[str, Any]
    base_volume: float  # messages on an average weekday when created
    marketing_lite: bool  # sends MM Lite messages once per-message pricing starts
    cancellation_requested_at: datetime | None = None  # through the API during this run

    def usage_days(self) -> tuple[date, date | None]:
        """First day with possible usage and the first day without (None: still running).

        A cancelled channel sends nothing after the day it was cancelled on: its usage up to
        then stays, so a client's past figures never change when a number is given up."""
        if self.cancelled_at is None:
            return self.created_at.date(), None
        return self.created_at.date(), self.cancelled_at.date() + timedelta(days=1)


@dataclass
class World:
    partner: Partner
    clients: dict[str, Client]
    channels: dict[str, Channel]
    history_start: date  # first day with usage
    today: date  # first day without usage (the simulator's "today", UTC)
    clock: Callable[[], datetime] = field(repr=False)
    # client id -> its channels, in creation order; a scan of every channel per balance request
    # cost milliseconds at 10,000 clients.
    _by_client: dict[str, list[Channel]] = field(init=False, repr=False)
    # Ids in list order (the API has no endpoint that adds or removes clients or channels).
    client_ids: list[str] = field(init=False, repr=False)
    channel_ids: list[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_client = {client_id: [] for client_id in self.clients}
        for channel in self.channels.values():
            self._by_client.setdefault(channel.client_id, []).append(channel)
        self.client_ids = sorted(self.clients)
        self.channel_ids = sorted(self.channels)

    def channels_of(self, client_id: str) -> list[Channel]:
        return list(self._by_client.get(client_id, ()))
