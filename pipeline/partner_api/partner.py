"""The partner's own resources: its prepaid balance, `GET /partners/{partner_id}/balance`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

PARTNER_BALANCE_ENDPOINT = "GET /partners/{partner_id}/balance"


@dataclass(frozen=True)
class PartnerBalance:
    """One answer of the partner balance endpoint, kept as received.

    The vendor documents one object (`total`, `currency`) yet says a partner may hold one balance
    per top-up currency, so the body may be a list of them: the transform reads both shapes, and
    parses the money once, from this text.
    """

    content: bytes
    fetched_at: datetime
