from __future__ import annotations

import json

import httpx
import pytest

from pipeline.simulator import Simulator


def all_pages(api: httpx.Client, path: str, key: str, **params) -> list[dict]:
    items, offset = [], 0
    while True:
        body = api.get(path, params={**params, "offset": offset, "limit": 1000}).json()
        assert body["limit"] == 7  # capped by max_page_size
        assert body["count"] == len(body[key]) <= 7
        items += body[key]
        if body["count"] < body["limit"]:
            return items
        offset += body["count"]


def test_client_pages_cover_every_client_once_in_id_order(api: httpx.Client, sim: Simulator):
    clients = all_pages(api, f"/partners/{sim.partner_id}/clients", "clients")
    assert [client["id"] for client in clients] == sim.client_ids()
    again = all_pages(api, f"/partners/{sim.partner_id}/clients", "clients")
    assert again == clients


def test_envelope_echoes_the_query(api: httpx.Client, sim: Simulator):
    body = api.get(
        f"/partners/{sim.partner_id}/clients",
        params={"limit": 3, "offset": 2, "sort": "-created_at"},
    ).json()
    assert {key: body[key] for key in ("count", "filters", "sort", "limit", "offset", "total")} == {
        "count": 3,
        "filters": {},
        "sort": ["-created_at"],
        "limit": 3,
        "offset": 2,
        "total": 30,
    }


def test_sort_descending_by_created_at_is_stable_across_pages(api: httpx.Client, sim: Simulator):
    clients = all_pages(api, f"/partners/{sim.partner_id}/clients", "clients", sort="-created_at")
    keys = [client["created_at"] for client in clients]
    assert keys == sorted(keys, reverse=True)
    assert len({client["id"] for client in clients}) == 30


def test_filter_by_dotted_contact_country(api: httpx.Client, sim: Simulator):
    clients = all_pages(api, f"/partners/{sim.partner_id}/clients", "clients")
    country = clients[0]["contact_info"]["country"]
    filtered = all_pages(
        api,
        f"/partners/{sim.partner_id}/clients",
        "clients",
        filters=json.dumps({"contact_info.country": country}),
    )
    assert filtered == [c for c in clients if c["contact_info"]["country"] == country]


def test_channels_filter_by_client_and_app_and_sort_by_dotted_field(
    api: httpx.Client, sim: Simulator
):
    path = f"/partners/{sim.partner_id}/channels"
    channels = all_pages(api, path, "partner_channels", sort="client.name")
    assert [ch["client"]["name"] for ch in channels] == sorted(
        ch["client"]["name"] for ch in channels
    )
    first = channels[0]
    by_client = all_pages(
        api, path, "partner_channels", filters=json.dumps({"client.id": first["client_id"]})
    )
    assert {ch["id"] for ch in by_client} == {
        ch["id"] for ch in channels if ch["client_id"] == first["client_id"]
    }
    by_app = all_pages(
        api,
        path,
        "partner_channels",
        filters=json.dumps({"integration.app_id": first["integration"]["app_id"]}),
    )
    assert [ch["id"] for ch in by_app] == [first["id"]]


def test_channels_q_searches_phone_number_and_client_name(api: httpx.Client, sim: Simulator):
    path = f"/partners/{sim.partner_id}/channels"
    channels = all_pages(api, path, "partner_channels")
    number = channels[3]["setup_info"]["phone_number"]
    found = all_pages(api, path, "partner_channels", filters=json.dumps({"q": number[-6:]}))
    assert channels[3]["id"] in {ch["id"] for ch in found}
    name = channels[3]["client"]["name"].upper()
    found = all_pages(api, path, "partner_channels", filters=json.dumps({"q": name}))
    assert {ch["id"] for ch in found} >= {
        ch["id"] for ch in channels if ch["client"]["name"].upper() == name
    }


def test_shared_client_numbers_is_a_bare_array_of_the_clients_channels(
    api: httpx.Client, sim: Simulator
):
    channels = all_pages(api, f"/partners/{sim.partner_id}/channels", "partner_channels")
    client_id = channels[0]["client_id"]
    shared = api.get(f"/partners/{sim.partner_id}/clients/{client_id}/shared_client_numbers").json()
    assert isinstance(shared, list)
    assert sorted(ch["id"] for ch in shared) == sorted(
        ch["id"] for ch in channels if ch["client_id"] == client_id
    )


@pytest.mark.parametrize(
    "params",
    [
        {"filters": "{not json"},
        {"filters": "[1, 2]"},
        {"filters": '{"favourite_colour": "blue"}'},
        {"limit": -1},
        {"limit": "ten"},
        {"offset": -5},
        {"offset": "1.5"},
        {"sort": "favourite_colour"},
        {"sort": "-nope"},
    ],
)
@pytest.mark.parametrize("endpoint", ["clients", "channels"])
def test_bad_list_input_is_400_with_error_body(
    api: httpx.Client, sim: Simulator, endpoint, params, assert_error
):
    assert_error(api.get(f"/partners/{sim.partner_id}/{endpoint}", params=params), 400)
