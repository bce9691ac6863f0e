"""The partner's account state: partner, clients, channels; the write endpoints change it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
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
    balance_total: Decimal
    currency: str  # ISO upper case, e.g. "EUR"


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
        """First day with possible usage and the first day without (None: still running)."""
        end = self.terminated_at.date() if self.terminated_at else None
        return self.created_at.date(), end


@dataclass
class World:
    partner: Partner
    clients: dict[str, Client]
    channels: dict[str, Channel]
    history_start: date  # first day with usage
    today: date  # first day without usage (the simulator's "today", UTC)
    clock: Callable[[], datetime] = field(repr=False)

    def channels_of(self, client_id: str) -> list[Channel]:
        return [ch for ch in self.channels.values() if ch.client_id == client_id]
