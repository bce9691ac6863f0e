from datetime import UTC, datetime

import pytest
from transform.raw_texts import vendor_json

from pipeline.transform import DirectoryFormatError, channels_frame, clients_frame
from pipeline.transform.schemas import CHANNELS, CLIENTS

OBSERVED = datetime(2024, 3, 1, 6, 0, tzinfo=UTC)


def test_vendor_client_is_flattened():
    frame = clients_frame(vendor_json("vendor_clients.json")["clients"], OBSERVED)
    assert frame.schema == CLIENTS
    row = frame.row(0, named=True)
    assert row["status"] == "active"
    assert row["max_channels"] == 2
    assert row["created_at"] == datetime(2022, 11, 30, 8, 15, tzinfo=UTC)
    assert row["modified_at"] == datetime(2023, 1, 2, 12, tzinfo=UTC)
    assert (row["business_vertical"], row["country"], row["email"]) == ("string",) * 3
    assert row["observed_at"] == OBSERVED


def test_vendor_channel_is_flattened():
    frame = channels_frame(vendor_json("vendor_channels.json")["partner_channels"], OBSERVED)
    assert frame.schema == CHANNELS
    row = frame.row(0, named=True)
    assert {
        k: row[k]
        for k in (
            "app_id",
            "hosting_platform_type",
            "data_localization_region",
            "tier",
            "current_limit",
            "current_quality_rating",
            "hub_status",
            "status",
            "account_mode",
        )
    } == {
        "app_id": "138219",
        "hosting_platform_type": "meta_cloud_api",
        "data_localization_region": "DE",
        "tier": "regular",
        "current_limit": "TIER_0.25K",
        "current_quality_rating": "High",
        "hub_status": "live",
        "status": "ready",
        "account_mode": "live",
    }
    assert row["created_at"] == datetime(2024, 1, 10, 9, 59, 19, tzinfo=UTC)
    assert row["billing_started_at"] == datetime(2000, 1, 1, 10, tzinfo=UTC)
    assert row["cancelled_at"] is None and row["terminated_at"] is None


def test_missing_nested_objects_give_nulls_and_ids_are_deduplicated():
    clients = [
        {"id": "a", "name": "Old name"},
        {
            "id": "b",
            "meta_info": None,
            "contact_info": {"country": "DE"},
            "max_channels": "3",
            "created_at": "2024-01-10T09:59:19.5+01:00",
            "unknown": {"x": [1]},
        },
        {"id": "a", "name": "New name", "contact_info": {}},
    ]
    frame = clients_frame(clients, OBSERVED)
    assert frame.select(
        "client_id", "name", "country", "business_vertical", "max_channels", "created_at"
    ).rows() == [
        ("a", "New name", None, None, None, None),
        ("b", None, "DE", None, 3, datetime(2024, 1, 10, 8, 59, 19, 500000, tzinfo=UTC)),
    ]


def test_channel_without_nested_objects_takes_client_from_client_object():
    channels = [
        {"id": "ch1", "client": {"id": "c9"}},
        {
            "id": "ch2",
            "client_id": "c2",
            "integration": {"app_id": 4711},
            "settings": None,
            "waba_account": {"id": "w1"},
        },
        {"id": "ch1", "client": {"id": "c9"}, "hub_status": "sandbox"},
    ]
    frame = channels_frame(channels, OBSERVED)
    assert frame.select(
        "channel_id", "client_id", "app_id", "tier", "waba_account_id", "hub_status"
    ).rows() == [
        ("ch1", "c9", None, None, None, "sandbox"),
        ("ch2", "c2", "4711", None, "w1", None),
    ]


def test_empty_lists_give_the_schemas():
    assert clients_frame([], OBSERVED).schema == CLIENTS
    assert channels_frame([], OBSERVED).schema == CHANNELS


def test_unparsable_timestamp_and_missing_id_raise():
    with pytest.raises(DirectoryFormatError, match="channel x: field 'terminated_at'"):
        channels_frame([{"id": "x", "terminated_at": "last week"}], OBSERVED)
    with pytest.raises(DirectoryFormatError, match="client \\?: field 'client_id' is missing"):
        clients_frame([{"name": "no id"}], OBSERVED)
