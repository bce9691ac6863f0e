"""Login and the partner's own resources: profile, settings, balance."""

from __future__ import annotations

import math
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from .access import PartnerRuntime, runtime_of
from .render import partner_balance_json, partner_json
from .wire import ExactJSONResponse, success_meta

router = APIRouter()

Region = Literal["AU", "ID", "IN", "JP", "SG", "KR", "DE", "CH", "GB", "BR", "BH", "ZA", "CA"]


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str
    password: str = Field(repr=False)


class PartnerUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    webhook_url: str | None = None
    partner_redirect_url: str | None = None
    allow_client_to_add_phone_no: bool | None = None


class DefaultRegion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default_data_localization_region: Region


@router.post("/token", tags=["Authentication"], summary="Log in (legacy bearer auth)")
async def token(body: TokenRequest, request: Request) -> ExactJSONResponse:
    credentials = runtime_of(request).credentials
    access_token = credentials.issue_token(body.username, body.password)
    return ExactJSONResponse(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": math.ceil(credentials.token_ttl_seconds),
        }
    )


@router.get("/partners/{partner_id}", tags=["Partner Management"], summary="Retrieve partner")
async def get_partner(runtime: PartnerRuntime) -> ExactJSONResponse:
    return ExactJSONResponse(partner_json(runtime.world.partner))


@router.patch("/partners/{partner_id}", tags=["Partner Management"], summary="Update partner")
async def update_partner(body: PartnerUpdate, runtime: PartnerRuntime) -> ExactJSONResponse:
    partner = runtime.world.partner
    for name, value in body.model_dump(exclude_unset=True).items():
        setattr(partner, name, value)
    return ExactJSONResponse(partner_json(partner))


@router.get(
    "/partners/{partner_id}/balance",
    tags=["Balance & Usage"],
    summary="Partner balance (prepaid partners)",
    description="One {total, currency} record per top-up currency: a single object when the "
    "partner tops up in one currency, a list of them with several (the simulator's "
    "partner_balance_shape can force either).",
)
async def partner_balance(runtime: PartnerRuntime) -> ExactJSONResponse:
    return ExactJSONResponse(
        partner_balance_json(runtime.world.partner, runtime.options.partner_balance_shape)
    )


@router.patch(
    "/partners/{partner_id}/settings/default_data_localization_region",
    tags=["Partner Management"],
    summary="Set the default data localization region",
)
async def default_region(body: DefaultRegion, runtime: PartnerRuntime) -> ExactJSONResponse:
    region = body.default_data_localization_region
    runtime.world.partner.default_data_localization_region = region
    return success_meta(
        "Default data localization region updated successfully.",
        data={"default_data_localization_region": region},
    )
