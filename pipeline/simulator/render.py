"""The wire shapes of partner, client and channel objects, as the vendor documents them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .options import PartnerBalanceShape
from .world import Channel, Client, Partner


def timestamp(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def partner_json(partner: Partner) -> dict[str, Any]:
    return {
        "id": partner.id,
        "brand_name": partner.brand_name,
        "payment_required": False,
        "payment_plan": {},
        "logo_url": None,
        "onboarding_deeplink_add_params": False,
        "webhook_url": partner.webhook_url,
        "partner_redirect_url": partner.partner_redirect_url,
        "country": "DE",
        "blocked_new_submission": False,
        "allow_client_to_add_phone_no": partner.allow_client_to_add_phone_no,
        "settings": {"default_data_localization_region": partner.default_data_localization_region},
        "billing_system": "internal",
        "publishable_key": None,
    }


def partner_balance_json(
    partner: Partner, shape: PartnerBalanceShape
) -> dict[str, Any] | list[dict[str, Any]]:
    """v2's PartnerBalanceOut has exactly total (a number) and currency (lower case); the
    vendor says a partner has one such record per top-up currency."""
    records = [
        {"total": total, "currency": currency.lower()}
        for currency, total in partner.balances.items()
    ]
    if shape == "list" or (shape == "auto" and len(records) > 1):
        return records
    return records[0]


def client_json(client: Client) -> dict[str, Any]:
    creator = {"user_id": "simUS", "user_name": "onboarding"}
    return {
        "id": client.id,
        "name": client.name,
        "status": client.status,
        "organisation": client.organisation,
        "meta_info": dict(client.meta_info),
        "contact_info": dict(client.contact_info),
        "contact_user": dict(client.contact_user),
        "partner_payload": client.partner_payload,
        "created_at": timestamp(client.created_at),
        "created_by": creator,
        "modified_at": timestamp(client.modified_at),
        "modified_by": creator,
        "max_channels": client.max_channels,
    }


def hub_status(channel: Channel, now: datetime, cancellation_delay: timedelta) -> str:
    """A cancellation requested through the API turns the channel pending_deletion a bit later."""
    requested = channel.cancellation_requested_at
    if requested is not None and now - requested >= cancellation_delay:
        return "pending_deletion"
    return channel.hub_status


def shared_number_json(channel: Channel, status: str) -> dict[str, Any]:
    """The fields every channel shape has (shared_client_numbers returns just these)."""
    return {
        "account_mode": "live",
        "billing_started_at": timestamp(channel.created_at),
        "cancelled_at": timestamp(channel.cancelled_at),
        "client_id": channel.client_id,
        "created_at": timestamp(channel.created_at),
        "current_limit": channel.current_limit,
        "current_quality_rating": channel.current_quality_rating,
        "hub_status": status,
        "id": channel.id,
        "is_migrated": False,
        "is_oba": False,
        "modified_at": timestamp(channel.modified_at),
        "settings": {
            "data_localization_region": channel.data_localization_region,
            "tier": "regular",
        },
        "setup_info": {"phone_name": channel.phone_name, "phone_number": channel.phone_number},
        "status": "ready" if status in ("live", "pending_deletion") else "inactive",
        "terminated_at": timestamp(channel.terminated_at),
        "version": 2,
    }


def channel_json(channel: Channel, client: Client, status: str) -> dict[str, Any]:
    body = shared_number_json(channel, status)
    body["client"] = {
        "contact_info": {
            key: client.contact_info[key] for key in ("country", "email", "street_name")
        },
        "id": client.id,
        "name": client.name,
        "partner_payload": client.partner_payload,
    }
    body["has_inbox"] = False
    body["integration"] = {
        "app_id": channel.app_id,
        "enabled": channel.terminated_at is None,
        "hosting_platform_type": channel.hosting_platform_type,
        "state": "running" if channel.terminated_at is None else "stopped",
    }
    body["waba_account"] = channel.waba
    return dict(sorted(body.items()))
