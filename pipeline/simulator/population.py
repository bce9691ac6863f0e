"""Makes up a partner's clients and channels from the seed: same seed, same world."""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from .hashing import rng_for
from .options import SimulatorOptions
from .world import Channel, Client, Partner, UsageProfile, World

# country -> (currency, language, timezone, phone prefix, cities)
COUNTRIES: dict[str, tuple[str, str, str, str, tuple[str, ...]]] = {
    "DE": ("EUR", "de", "Europe/Berlin", "+49", ("Berlin", "Hamburg", "Munich", "Cologne")),
    "FR": ("EUR", "fr", "Europe/Paris", "+33", ("Paris", "Lyon", "Nantes")),
    "ES": ("EUR", "es", "Europe/Madrid", "+34", ("Madrid", "Valencia", "Seville")),
    "NL": ("EUR", "nl", "Europe/Amsterdam", "+31", ("Amsterdam", "Utrecht")),
    "GB": ("GBP", "en", "Europe/London", "+44", ("London", "Leeds", "Bristol")),
    "US": ("USD", "en", "America/New_York", "+1", ("New York", "Austin", "Denver")),
    "BR": ("USD", "pt", "America/Sao_Paulo", "+55", ("Sao Paulo", "Recife")),
    "IN": ("USD", "en", "Asia/Kolkata", "+91", ("Mumbai", "Pune", "Delhi")),
}
VERTICALS = ("RETAIL", "EDU", "FINANCE", "HEALTH", "TRAVEL", "PROF_SERVICES", "AUTO", "OTHER")
NAME_HEADS = (
    "Nord",
    "Blue",
    "Sun",
    "Alpen",
    "River",
    "Kite",
    "Oak",
    "Nova",
    "Pixel",
    "Coral",
    "Iron",
    "Maple",
    "Swift",
    "Lumen",
    "Urban",
    "Terra",
)
NAME_TAILS = ("wind", "harbor", "works", "field", "line", "stone", "path", "light", "grove", "bay")
NAME_KINDS = ("Logistics", "Retail", "Clinic", "Travel", "Academy", "Bank", "Motors", "Studio")
QUALITY = ("High", "High", "High", "Medium", "Low")
LIMITS = ("TIER_250", "TIER_1K", "TIER_1K", "TIER_10K", "TIER_100K")
REGIONS = ("AU", "ID", "ZA", "IN", "CA", "JP", "SG", "KR", "DE", "CH", "GB", "BR", "BH")


def build_world(opts: SimulatorOptions, clock: Callable[[], datetime]) -> World:
    today = opts.today or clock().date()
    history_start = today - timedelta(days=opts.history_days)
    rng = random.Random(opts.seed)
    partner = Partner(
        id=opts.partner_id,
        brand_name="Simulated Partner",
        webhook_url=None,
        partner_redirect_url=None,
        allow_client_to_add_phone_no=True,
        default_data_localization_region=None,
        balances=_partner_balances(rng, opts),
    )
    clients: dict[str, Client] = {}
    channels: dict[str, Channel] = {}
    for index in range(opts.clients):
        client = _make_client(rng, index, history_start, today)
        clients[client.id] = client
        for ch_index in range(_channel_count(rng, client, opts.max_channels_per_client)):
            channel = _make_channel(rng, client, ch_index, today)
            channels[channel.id] = channel
    return World(partner, clients, channels, history_start, today, clock)


def _partner_balances(rng: random.Random, opts: SimulatorOptions) -> dict[str, Decimal]:
    """The first currency's total is drawn from the world's stream as it always was; the others
    from their own streams, so adding a currency changes no client or channel."""
    currencies = opts.partner_currencies
    balances = {currencies[0]: Decimal(rng.randint(10_000, 500_000)) / 100}
    for currency in currencies[1:]:
        own = rng_for(opts.seed, "partner-balance", currency)
        balances[currency] = Decimal(own.randint(10_000, 500_000)) / 100
    return balances


def _ident(rng: random.Random, suffix: str) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits, k=8)) + suffix


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(
        day, time(rng.randint(6, 20), rng.randint(0, 59), rng.randint(0, 59)), tzinfo=UTC
    )


def _make_client(rng: random.Random, index: int, history_start: date, today: date) -> Client:
    country = rng.choice(sorted(COUNTRIES))
    currency, language, timezone, prefix, cities = COUNTRIES[country]
    name = f"{rng.choice(NAME_HEADS)}{rng.choice(NAME_TAILS)} {rng.choice(NAME_KINDS)}"
    slug = name.lower().replace(" ", "")
    # A third existed before the history starts; the rest sign up over it, at least a month ago.
    span = max(1, (today - history_start).days - 30)
    offset = rng.randint(-400, -1) if rng.random() < 0.33 else rng.randint(0, span)
    created = _at(history_start + timedelta(days=offset), rng)
    modified = created + timedelta(days=rng.randint(0, 20), seconds=rng.randint(0, 86_399))
    partner_paid = rng.random() < 0.6
    inactive = rng.random() < 0.12
    mix = [rng.uniform(0.05, 1.0) for _ in range(4)]
    renewal_day = today.replace(day=1) - timedelta(days=rng.choice((0, 0, 31, 62)))
    return Client(
        id=_ident(rng, "CL"),
        name=name,
        status="inactive" if inactive else "active",
        organisation=f"{name} {rng.choice(('GmbH', 'Ltd', 'Inc', 'SAS', 'BV'))}",
        meta_info={
            "business_vertical": rng.choice(VERTICALS),
            "timezone": timezone,
            "about": f"{name} on WhatsApp",
            "business_description": f"{name}, {cities[0]}",
            "use_case": rng.choice(("support", "notifications", "marketing", "otp")),
        },
        contact_info={
            "webpage_url": f"https://{slug}.example",
            "phone": _phone(rng, prefix),
            "language": language,
            "country": country,
            "street_name": f"{rng.randint(1, 200)} Main Street",
            "city": rng.choice(cities),
            "email": f"billing@{slug}.example",
            "full_name": f"Owner {index:03d}",
            "zip_code": f"{rng.randint(10000, 99999)}",
        },
        contact_user={
            "phone": _phone(rng, prefix),
            "email": f"admin{index:03d}@{slug}.example",
            "name": f"Admin {index:03d}",
        },
        partner_payload=f"crm-{rng.randint(1000, 9999)}" if rng.random() < 0.5 else None,
        created_at=created,
        modified_at=min(modified, _at(today - timedelta(days=1), rng)),
        max_channels=rng.choice((2, 5, 10, 10)),
        currency=currency,
        partner_paid=partner_paid,
        balance=Decimal(0) if partner_paid else Decimal(rng.randint(0, 250_000)) / 100,
        last_renewal=None
        if partner_paid
        else (
            datetime.combine(renewal_day, time(), tzinfo=UTC),
            Decimal(rng.choice((20, 50, 100, 250, 500))),
        ),
        profile=UsageProfile(
            volume_scale=0.0 if inactive or rng.random() < 0.05 else rng.lognormvariate(0, 1),
            growth_per_year=rng.uniform(-0.2, 0.9),
            business_initiated_share=rng.uniform(0.3, 0.8),
            pricing_mix=dict(
                zip(
                    ("authentication", "marketing", "service", "utility"),
                    [share / sum(mix) for share in mix],
                    strict=True,
                )
            ),
            weekend_factor=rng.uniform(0.3, 0.9),
            international_authentication=rng.random() < 0.3,
        ),
    )


def _phone(rng: random.Random, prefix: str) -> str:
    return f"{prefix}{rng.randint(100_000_000, 999_999_999)}"


def _channel_count(rng: random.Random, client: Client, most: int) -> int:
    if client.status == "inactive":
        return rng.randint(0, 1)
    return rng.randint(1, most)


def _make_channel(rng: random.Random, client: Client, index: int, today: date) -> Channel:
    yesterday = today - timedelta(days=1)
    created_day = min(
        client.created_at.date() + timedelta(days=rng.randint(0, 90) * index + rng.randint(0, 14)),
        yesterday,
    )
    created = max(_at(created_day, rng), client.created_at)
    cancelled = terminated = None
    hub_status = "live"
    if rng.random() < 0.15 and created_day < yesterday - timedelta(days=10):
        cancel_day = created_day + timedelta(days=rng.randint(5, (yesterday - created_day).days))
        cancelled = _at(cancel_day, rng)
        hub_status = "pending_deletion"
        if cancel_day + timedelta(days=30) < today:
            terminated, hub_status = cancelled + timedelta(days=30), "unregistered"
    prefix = COUNTRIES[client.contact_info["country"]][3]
    waba_id = _ident(rng, "WA")
    return Channel(
        id=_ident(rng, "CH"),
        client_id=client.id,
        app_id=str(rng.randint(100_000, 999_999)),
        phone_number=_phone(rng, prefix),
        phone_name=f"{client.name} {index + 1}",
        created_at=created,
        modified_at=max(created, cancelled or created),
        cancelled_at=cancelled,
        terminated_at=terminated,
        hub_status=hub_status,
        current_limit=rng.choice(LIMITS),
        current_quality_rating=rng.choice(QUALITY),
        hosting_platform_type="meta_cloud_api" if rng.random() < 0.85 else "360_hosting",
        data_localization_region=rng.choice(REGIONS) if rng.random() < 0.2 else None,
        waba={
            "external_id": str(rng.randint(10**14, 10**15 - 1)),
            "fb_account_status": "verified",
            "fb_business_id": str(rng.randint(10**14, 10**15 - 1)),
            "id": waba_id,
            "namespace": f"{waba_id.lower()}_ns",
            "on_behalf_of_business_info": {
                "id": str(rng.randint(10**14, 10**15 - 1)),
                "name": client.organisation,
                "status": "approved",
                "type": "OWNER",
            },
        },
        base_volume=rng.lognormvariate(3.5, 1.2),
        marketing_lite=rng.random() < 0.4,
    )
