"""Writes to the simulator (clients, partner settings, channels): on a simulator of this module's
own, so the session's read-mostly one stays as it started."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from pipeline.simulator import Simulator, run_simulator


@pytest.fixture(scope="module")
def sim(sim_options) -> Iterator[Simulator]:
    with run_simulator(sim_options(cancellation_delay_seconds=60)) as running:
        yield running


def channel(api: httpx.Client, sim: Simulator, channel_id: str) -> dict:
    body = api.get(
        f"/partners/{sim.partner_id}/channels", params={"filters": json.dumps({"id": channel_id})}
    ).json()
    assert body["total"] == 1
    return body["partner_channels"][0]


def live_channel(api: httpx.Client, sim: Simulator, index: int) -> dict:
    body = api.get(
        f"/partners/{sim.partner_id}/channels",
        params={"filters": json.dumps({"terminated_at": None}), "limit": 7},
    ).json()
    return next(ch for ch in body["partner_channels"][index:] if ch["cancelled_at"] is None)


def test_client_update_is_reflected_in_the_list(api: httpx.Client, sim: Simulator):
    client_id = sim.client_ids()[5]
    path = f"/partners/{sim.partner_id}/clients"
    before = api.get(path, params={"filters": json.dumps({"id": client_id})}).json()["clients"][0]
    updated = api.patch(
        f"{path}/{client_id}", json={"max_channels": 42, "partner_payload": "tier-gold"}
    )
    assert updated.status_code == 200
    after = api.get(path, params={"filters": json.dumps({"id": client_id})}).json()["clients"][0]
    assert (after["max_channels"], after["partner_payload"]) == (42, "tier-gold")
    assert after["modified_at"] > before["modified_at"]
    assert after == updated.json()


def test_bad_client_update_is_400(api: httpx.Client, sim: Simulator, assert_error):
    path = f"/partners/{sim.partner_id}/clients/{sim.client_ids()[5]}"
    assert_error(api.patch(path, json={"max_channels": "many"}), 400)
    assert_error(api.patch(path, json={"colour": "red"}), 400)
    assert_error(api.patch(f"/partners/{sim.partner_id}/clients/nopeCL", json={}), 404)


def test_partner_settings_update_and_default_region(api: httpx.Client, sim: Simulator):
    path = f"/partners/{sim.partner_id}"
    settings = {"webhook_url": "https://hooks.example/d360", "allow_client_to_add_phone_no": False}
    assert api.patch(path, json=settings).status_code == 200
    region = api.patch(
        f"{path}/settings/default_data_localization_region",
        json={"default_data_localization_region": "DE"},
    )
    assert region.json()["data"] == {"default_data_localization_region": "DE"}
    partner = api.get(path).json()
    assert partner["webhook_url"] == "https://hooks.example/d360"
    assert partner["allow_client_to_add_phone_no"] is False
    assert partner["settings"]["default_data_localization_region"] == "DE"
    balance = api.get(f"{path}/balance").json()
    assert set(balance) == {"total", "currency"} and balance["currency"] == "eur"


def test_local_storage_enable_and_disable(api: httpx.Client, sim: Simulator, assert_error):
    ch = live_channel(api, sim, 0)
    control = f"/partners/{sim.partner_id}/clients/{ch['client_id']}/channels/{ch['id']}/control"
    enabled = api.post(f"{control}/enable_local_storage", json={"data_localization_region": "SG"})
    assert enabled.json()["meta"]["success"] is True
    assert channel(api, sim, ch["id"])["settings"]["data_localization_region"] == "SG"
    api.post(f"{control}/disable_local_storage")
    assert channel(api, sim, ch["id"])["settings"]["data_localization_region"] is None
    assert_error(
        api.post(f"{control}/enable_local_storage", json={"data_localization_region": "XX"}), 400
    )


def test_cancellation_sets_cancelled_at_then_hub_status(
    api: httpx.Client, sim: Simulator, assert_error
):
    ch = live_channel(api, sim, 1)
    control = f"/partners/{sim.partner_id}/clients/{ch['client_id']}/channels/{ch['id']}/control"
    cancelled = api.post(f"{control}/cancellation_request")
    assert cancelled.status_code == 200
    assert cancelled.json()["cancelled_at"] is not None
    assert channel(api, sim, ch["id"])["hub_status"] == ch["hub_status"]
    sim.advance_clock(60)  # this module's cancellation delay, without waiting for it
    assert channel(api, sim, ch["id"])["hub_status"] == "pending_deletion"
    assert_error(api.post(f"{control}/cancellation_request"), 400)


def test_api_key_for_a_channel(api: httpx.Client, sim: Simulator):
    ch = live_channel(api, sim, 0)
    key = api.post(f"/partners/{sim.partner_id}/channels/{ch['id']}/api_keys").json()
    assert set(key) == {"id", "address", "api_key", "app_id"}
    assert key["app_id"] == ch["integration"]["app_id"]
