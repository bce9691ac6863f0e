from datetime import date, timedelta
from decimal import Decimal

import polars as pl
import pytest
from warehouse.wh_frames import DAILY, RAW, SNAPSHOTS, T0, category, day, frame, usage_load

from pipeline.warehouse import WarehouseError, coverage_frame, load_usage
from pipeline.warehouse.usage_loads import UsageLoad

D = [date(2024, 3, 1) + timedelta(days=i) for i in range(10)]


def usage_rows(wh) -> list[tuple]:
    with wh.read() as con:
        return con.execute(
            "SELECT client_id, usage_date, total_price FROM usage_daily ORDER BY ALL"
        ).fetchall()


def seed(wh) -> None:
    """Clients a and b with a price on each of the ten days: a at 1.x, b at 2.x."""
    days = [day(c, d, f"{n}.{i}") for n, c in ((1, "a"), (2, "b")) for i, d in enumerate(D)]
    cats = [
        category(c, d, "marketing", f"{n}.{i}")
        for n, c in ((1, "a"), (2, "b"))
        for i, d in enumerate(D)
    ]
    load_usage(wh, **usage_load(["a", "b"], D[0], D[-1], days, cats))


def test_load_replaces_exactly_the_range_of_the_fetched_clients(wh):
    seed(wh)
    result = load_usage(wh, **usage_load(["a"], D[3], D[5], [day("a", D[4], "9.9")]))

    rows = usage_rows(wh)
    a_rows = [(d, p) for c, d, p in rows if c == "a"]
    kept = [(d, Decimal(f"1.{i}")) for i, d in enumerate(D) if i not in (3, 4, 5)]
    assert a_rows == sorted([*kept, (D[4], Decimal("9.9"))])
    b_rows = [(d, p) for c, d, p in rows if c == "b"]
    assert b_rows == [(d, Decimal(f"2.{i}")) for i, d in enumerate(D)]
    assert result.deleted == {"usage_daily": 3, "usage_by_category": 3, "usage_coverage": 3}
    assert result.inserted == {
        "usage_daily": 1,
        "usage_by_category": 0,
        "usage_coverage": 3,
        "balance_snapshots": 0,
        "raw_balance_fetches": 0,
    }
    with wh.read() as con:
        left = con.execute(
            "SELECT count(*) FROM usage_by_category WHERE client_id = 'a'"
        ).fetchall()[0]
        assert left == (7,)


def test_client_whose_fetch_failed_keeps_its_previous_rows(wh):
    seed(wh)
    # b's fetch failed: it is left out of client_ids, so its days stay as they were.
    load_usage(wh, **usage_load(["a"], D[0], D[-1], []))
    assert {c for c, _, _ in usage_rows(wh)} == {"b"}
    assert len(usage_rows(wh)) == 10


def test_rerunning_overlapping_ranges_is_idempotent(wh):
    seed(wh)
    first = usage_rows(wh)
    load_usage(
        wh,
        **usage_load(
            ["a", "b"],
            D[2],
            D[7],
            [
                day(c, d, f"{n}.{i + 2}")
                for n, c in ((1, "a"), (2, "b"))
                for i, d in enumerate(D[2:8])
            ],
            [
                category(c, d, "marketing", f"{n}.{i + 2}")
                for n, c in ((1, "a"), (2, "b"))
                for i, d in enumerate(D[2:8])
            ],
        ),
    )
    seed(wh)
    assert usage_rows(wh) == first
    with wh.read() as con:
        counts = con.execute(
            "SELECT (SELECT count(*) FROM usage_by_category), (SELECT count(*) FROM usage_coverage)"
        ).fetchall()[0]
    assert counts == (20, 20)


@pytest.mark.parametrize(
    ("client_ids", "row", "what"),
    [
        (["a"], day("a", D[0] - timedelta(days=1), "1"), "outside"),
        (["a"], day("b", D[1], "1"), "clients not fetched"),
    ],
)
def test_rows_outside_the_range_or_clients_are_refused_before_anything_changes(
    wh, client_ids, row, what
):
    seed(wh)
    before = wh.latest_snapshot()
    with pytest.raises(WarehouseError, match=what) as error:
        load_usage(wh, **usage_load(client_ids, D[0], D[2], [row]))
    assert "\n" not in str(error.value)
    assert wh.latest_snapshot() == before


def test_start_after_end_is_refused(wh):
    with pytest.raises(WarehouseError, match="after it ends"):
        load_usage(wh, **usage_load(["a"], D[2], D[1], []))
    assert not wh.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop("free_tier"), r"missing \['free_tier'\]"),
        (lambda f: f.with_columns(pl.lit(1).alias("extra")), r"unexpected \['extra'\]"),
        (
            lambda f: f.with_columns(pl.col("total_price").cast(pl.Float64)),
            "total_price is Float64",
        ),
        (
            lambda f: f.with_columns(pl.col("total_price").cast(pl.Decimal(38, 12))),
            r"total_price is Decimal\(precision=38, scale=12\)",
        ),
        (lambda f: f.with_columns(pl.col("usage_date").cast(pl.String)), "usage_date is String"),
        (lambda f: pl.concat([f, f]), "duplicate keys"),
    ],
)
def test_frames_that_do_not_fit_the_table_are_refused(wh, change, message):
    seed(wh)
    before = wh.latest_snapshot()
    kwargs = usage_load(["a"], D[0], D[1], [day("a", D[0], "5")])
    kwargs["daily"] = change(kwargs["daily"])
    with pytest.raises(WarehouseError, match=message):
        load_usage(wh, **kwargs)
    assert wh.latest_snapshot() == before


def test_snapshots_and_raw_fetches_are_appended_once(wh):
    snapshot = {"client_id": "a", "observed_at": T0, "balance": Decimal("12.5"), "currency": "EUR"}
    raw = {
        "client_id": "a",
        "granularity": "day",
        "app_id": "",
        "window_start": D[0],
        "window_end": D[1],
        "fetched_at": T0,
        "body_sha256": "ab" * 32,
        "body_bytes": 13,
        "body_file": "2024-03-01/x.parquet",
    }
    kwargs = usage_load(["a"], D[0], D[1], [], snapshots=[snapshot], raw=[raw])
    first = load_usage(wh, **kwargs)
    again = load_usage(wh, **kwargs)
    later = {**snapshot, "observed_at": T0 + timedelta(hours=1), "balance": Decimal("11")}
    load_usage(
        wh,
        **usage_load(
            ["a"],
            D[0],
            D[1],
            [],
            snapshots=[later],
            raw=[{**raw, "fetched_at": T0 + timedelta(hours=1)}],
        ),
    )

    assert first.inserted["balance_snapshots"] == 1 and first.inserted["raw_balance_fetches"] == 1
    assert again.inserted["balance_snapshots"] == 0 and again.inserted["raw_balance_fetches"] == 0
    with wh.read() as con:
        assert con.execute(
            "SELECT balance FROM balance_snapshots ORDER BY observed_at"
        ).fetchall() == [(Decimal("12.5"),), (Decimal("11"),)]
        assert con.execute(
            "SELECT fetched_at - ?::TIMESTAMPTZ FROM raw_balance_fetches ORDER BY ALL", [T0]
        ).fetchall() == [(timedelta(0),), (timedelta(hours=1),)]


def test_coverage_frame_has_every_client_day_in_the_interface_schema():
    coverage = coverage_frame(["a", "b"], D[0], D[2], T0)
    assert coverage.schema == pl.Schema(
        {"client_id": pl.String, "usage_date": pl.Date, "fetched_at": pl.Datetime("us", "UTC")}
    )
    assert coverage.height == 6
    assert set(coverage["usage_date"]) == set(D[:3])


def test_load_result_as_metadata_is_flat(wh):
    result = load_usage(wh, **usage_load(["a"], D[0], D[0], [day("a", D[0], "1")]))
    assert result.as_metadata()["usage_daily.inserted"] == 1
    assert result.as_metadata()["usage_daily.deleted"] == 0


def test_empty_frames_of_the_interface_schema_load(wh):
    empty = {
        "daily": frame(DAILY, []),
        "snapshots": frame(SNAPSHOTS, []),
        "raw_fetches": frame(RAW, []),
    }
    kwargs = usage_load([], D[0], D[0], []) | empty
    assert load_usage(wh, **kwargs).inserted["usage_daily"] == 0


def test_a_loads_bookkeeping_is_dated_by_the_pipelines_clock(wh, monkeypatch):
    monkeypatch.setenv("PIPELINE_TODAY", "2031-07-15")
    load = UsageLoad.open(wh, "run", D[0], D[-1], resume=False)
    given = usage_load(["a"], D[0], D[-1], [day("a", D[0], "1.5")])
    tables = {
        "usage_daily": given["daily"],
        "usage_by_category": given["by_category"],
        "usage_coverage": given["coverage"],
        "balance_snapshots": given["snapshots"],
    }
    load.commit_batch(wh, 1, ["a"], tables)
    load.finish(wh)
    with wh.read() as con:
        started, finished = con.execute(
            "SELECT started_at, finished_at FROM usage_loads WHERE load_id = ?", [load.load_id]
        ).fetchall()[0]
        [(saved,)] = con.execute(
            "SELECT saved_at FROM usage_load_clients WHERE load_id = ?", [load.load_id]
        ).fetchall()
    assert {started.date(), finished.date(), saved.date()} == {date(2031, 7, 15)}
