from datetime import datetime, timedelta

import pytest
from warehouse.wh_frames import CHANNELS, CLIENTS, T0, channel, client, frame

from pipeline.warehouse import WarehouseError, load_channels, load_clients
from pipeline.warehouse.schema import table_columns

T1, T2 = T0 + timedelta(days=1), T0 + timedelta(days=2)


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


def test_a_change_appends_one_row_and_a_missing_client_leaves_current_state(wh):
    load_clients(wh, frame(CLIENTS, [client("a"), client("b")]), T0)
    load_clients(wh, frame(CLIENTS, [client("a", status="blocked")]), T1)
    load_clients(wh, frame(CLIENTS, [client("a", status="active")]), T2)
    assert history(wh, "clients") == [
        ("a", "active", T0),
        ("a", "active", T2),
        ("a", "blocked", T1),
        ("b", "active", T0),
    ]
    with wh.read() as con:
        assert con.execute("SELECT client_id, status FROM clients").fetchall() == [("a", "active")]


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


def test_history_tables_have_the_current_state_columns_in_the_same_order(wh):
    load_clients(wh, frame(CLIENTS, []), T0)  # creates the schema
    with wh.read() as con:
        for table in ("clients", "channels"):
            assert table_columns(con, f"{table}_history") == table_columns(con, table)
