from datetime import datetime, timedelta

import pytest
from warehouse.wh_frames import CHANNELS, CLIENTS, T0, channel, client, frame

from pipeline.warehouse import WarehouseError, load_channels, load_clients
from pipeline.warehouse.schema import table_columns

T1, T2, T3 = (T0 + timedelta(days=n) for n in (1, 2, 3))


def history(wh, table: str) -> list[tuple]:
    key = "client_id" if table == "clients" else "channel_id"
    with wh.read() as con:
        return con.execute(
            f"SELECT {key}, status, observed_at FROM {table}_history ORDER BY ALL"
        ).fetchall()


def test_first_sighting_is_recorded_and_unchanged_clients_are_not(wh):
    first = load_clients(wh, frame(CLIENTS, [client("a"), client("b")]), T0)
    again = load_clients(wh, frame(CLIENTS, [client("a"), client("b")]), T1)
    assert first.inserted == {"clients": 2, "clients_history": 2}
    assert again.inserted == {"clients": 2, "clients_history": 0}
    assert again.deleted == {"clients": 2}
    assert history(wh, "clients") == [("a", "active", T0), ("b", "active", T0)]
    with wh.read() as con:  # current state carries the latest observation time
        assert con.execute("SELECT DISTINCT observed_at FROM clients").fetchall() == [(T1,)]


def removals(wh, table: str) -> list[tuple]:
    key = "client_id" if table == "clients" else "channel_id"
    with wh.read() as con:
        return con.execute(
            f"SELECT {key}, status, observed_at, removed FROM {table}_history ORDER BY ALL"
        ).fetchall()


def test_a_change_appends_one_row_and_a_missing_client_leaves_current_state(wh):
    load_clients(wh, frame(CLIENTS, [client("a"), client("b")]), T0)
    load_clients(wh, frame(CLIENTS, [client("a", status="blocked")]), T1)
    load_clients(wh, frame(CLIENTS, [client("a", status="active")]), T2)
    assert history(wh, "clients") == [
        ("a", "active", T0),
        ("a", "active", T2),
        ("a", "blocked", T1),
        ("b", "active", T0),
        ("b", "active", T1),  # the listing at T1 no longer had b: recorded as removed
    ]
    with wh.read() as con:
        assert con.execute("SELECT client_id, status FROM clients").fetchall() == [("a", "active")]


def test_a_client_gone_from_the_listing_is_recorded_as_removed_once_and_its_return_too(wh):
    load_clients(wh, frame(CLIENTS, [client("a"), client("b")]), T0)
    gone = load_clients(wh, frame(CLIENTS, [client("a")]), T1)
    still_gone = load_clients(wh, frame(CLIENTS, [client("a")]), T2)
    back = load_clients(wh, frame(CLIENTS, [client("a"), client("b")]), T3)
    assert [r.inserted["clients_history"] for r in (gone, still_gone, back)] == [1, 0, 1]
    assert removals(wh, "clients") == [
        ("a", "active", T0, False),
        ("b", "active", T0, False),
        ("b", "active", T1, True),  # its last known attributes, observed when it was gone
        ("b", "active", T3, False),  # unchanged attributes, yet a change: it is back
    ]


def test_an_empty_listing_records_every_channel_as_removed(wh):
    load_channels(wh, frame(CHANNELS, [channel("x", "a"), channel("y", "a")]), T0)
    emptied = load_channels(wh, frame(CHANNELS, []), T1)
    assert emptied.inserted == {"channels": 0, "channels_history": 2}
    assert [r[1:] for r in removals(wh, "channels") if r[3]] == [("ready", T1, True)] * 2


def test_a_null_that_stays_null_is_not_a_change(wh):
    load_channels(wh, frame(CHANNELS, [channel("x", "a", cancelled_at=None)]), T0)
    load_channels(wh, frame(CHANNELS, [channel("x", "a", cancelled_at=None)]), T1)
    load_channels(wh, frame(CHANNELS, [channel("x", "a", status="cancelled", cancelled_at=T1)]), T2)
    assert history(wh, "channels") == [("x", "cancelled", T2), ("x", "ready", T0)]


def test_observed_at_without_a_time_zone_is_refused(wh):
    with pytest.raises(WarehouseError, match="no time zone"):
        load_clients(wh, frame(CLIENTS, [client("a")]), datetime(2024, 1, 1))


def test_a_second_listing_at_the_same_instant_replaces_that_history_row(wh):
    load_clients(wh, frame(CLIENTS, [client("a")]), T0)
    load_clients(wh, frame(CLIENTS, [client("a", status="blocked")]), T0)
    assert history(wh, "clients") == [("a", "blocked", T0)]


def test_history_tables_have_the_current_state_columns_in_the_same_order_then_removed(wh):
    load_clients(wh, frame(CLIENTS, []), T0)  # creates the schema
    with wh.read() as con:
        for table in ("clients", "channels"):
            current = table_columns(con, table)
            assert table_columns(con, f"{table}_history") == {**current, "removed": "BOOLEAN"}
