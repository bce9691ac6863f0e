"""Meta's pricing eras and the per-unit rates the simulator charges, per currency and category."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

PRICING_CATEGORIES_FROM = date(2023, 6, 1)  # conversation categories replace the direction pair
SERVICE_FREE_FROM = date(2024, 11, 1)  # service conversations became free
PER_MESSAGE_FROM = date(2025, 7, 1)  # per-message pricing: MM Lite, international authentication

DIRECTION = ("business_initiated", "user_initiated")
PRICING = ("authentication", "marketing", "service", "utility")
PER_MESSAGE_EXTRAS = ("marketing_lite", "authentication_international")
DRIFT_CATEGORY = "marketing_lite_v2"  # a category no client knows yet (schema-drift fault)

_RATES: dict[str, dict[str, str]] = {
    "EUR": {
        "business_initiated": "0.0728",
        "user_initiated": "0.0436",
        "authentication": "0.0636",
        "marketing": "0.1131",
        "service": "0.0741",
        "utility": "0.0456",
        "marketing_lite": "0.1058",
        "authentication_international": "0.0936",
    },
    "USD": {
        "business_initiated": "0.0786",
        "user_initiated": "0.0471",
        "authentication": "0.0687",
        "marketing": "0.1222",
        "service": "0.0801",
        "utility": "0.0493",
        "marketing_lite": "0.1143",
        "authentication_international": "0.1011",
    },
    "GBP": {
        "business_initiated": "0.0624",
        "user_initiated": "0.0373",
        "authentication": "0.0545",
        "marketing": "0.0969",
        "service": "0.0635",
        "utility": "0.0391",
        "marketing_lite": "0.0907",
        "authentication_international": "0.0802",
    },
}
RATES: dict[str, dict[str, Decimal]] = {
    currency: {category: Decimal(rate) for category, rate in rates.items()}
    for currency, rates in _RATES.items()
}


# Every rate has 4 decimals, so every price and sum of prices is a whole number of these.
PRICE_DECIMALS = 4
RATE_UNITS: dict[str, dict[str, int]] = {
    currency: {category: int(rate.scaleb(PRICE_DECIMALS)) for category, rate in rates.items()}
    for currency, rates in RATES.items()
}
assert all(
    rate.as_tuple().exponent == -PRICE_DECIMALS
    for rates in RATES.values()
    for rate in rates.values()
), "rates must have exactly PRICE_DECIMALS decimals"


def rate(currency: str, category: str) -> Decimal:
    """Per paid unit; an unknown (drifted) category is billed like marketing."""
    rates = RATES[currency]
    return rates.get(category, rates["marketing"])


def rate_units(currency: str, category: str) -> int:
    """rate() in units of 10**-PRICE_DECIMALS."""
    units = RATE_UNITS[currency]
    return units.get(category, units["marketing"])
