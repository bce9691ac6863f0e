from datetime import date, timedelta
from decimal import Decimal

import pytest
from warehouse.wh_frames import CLIENTS, T0, category, client, day, frame, usage_load

from pipeline.warehouse import WarehouseError, create_views, load_clients, load_usage, quality

D = [date(2024, 3, 1) + timedelta(days=i) for i in range(3)]
FEBRUARY = [date(2024, 2, 1) + timedelta(days=i) for i in range(29)]


def test_quality_queries_return_the_problem_rows(wh):
    load_clients(wh, frame(CLIENTS, [client("a"), client("b")]), T0)
    load_usage(
        wh,
        **usage_load(
            ["a"], D[0], D[2], [day("a", D[0], "0.5")], [category("a", D[0], "marketing", "0.4")]
        ),
    )
    load_usage(wh, **usage_load(["b"], D[0], D[0], []))
    create_views(wh)
    with wh.read() as con:
        gaps = quality.coverage_gaps(con, D[0], D[2])
        gaps_for_c = quality.coverage_gaps(con, D[1], D[1], ["a", "c"])
        latest = quality.latest_covered_date(con)
        mismatches = quality.usage_family_mismatches(con)
    assert gaps.rows() == [("b", D[1]), ("b", D[2])]
    assert gaps_for_c.rows() == [("c", D[1])]
    assert latest == D[2]
    assert mismatches.select("client_id", "family_price", "daily_total_price").rows() == [
        ("a", Decimal("0.4"), Decimal("0.5"))
    ]


@pytest.mark.parametrize(
    ("table", "column", "row"),
    [
        ("usage_daily", "total_price", day("a", D[0], "-0.5")),
        ("usage_daily", "free_tier", {**day("a", D[0], "1"), "free_tier": -1}),
        ("usage_by_category", "price", category("a", D[0], "marketing", "-0.5")),
        ("usage_by_category", "quantity", category("a", D[0], "marketing", "1", quantity=-1)),
    ],
)
def test_a_negative_amount_is_refused_before_insert_and_nothing_changes(wh, table, column, row):
    load_usage(wh, **usage_load(["a"], D[0], D[0], [day("a", D[0], "1")]))
    before = wh.latest_snapshot()
    days, categories = ([row], []) if table == "usage_daily" else ([day("a", D[0], "1")], [row])
    with pytest.raises(WarehouseError, match=f"{table}.{column} is negative"):
        load_usage(wh, **usage_load(["a"], D[0], D[0], days, categories))
    assert wh.latest_snapshot() == before


def test_the_lake_itself_takes_a_duplicate_key_and_a_negative_amount_which_the_queries_find(wh):
    """DuckLake has no PRIMARY KEY or CHECK: a direct write gets both in, and only the checks
    (duplicate_keys, negative_amounts) can tell."""
    load_usage(wh, **usage_load(["a"], D[0], D[0], [day("a", D[0], "1")]))
    with wh.read() as con:
        assert quality.duplicate_keys(con, quality.USAGE_TABLES).is_empty()
        assert quality.negative_amounts(con, quality.USAGE_TABLES).is_empty()
    with wh.write() as con:
        con.execute("INSERT INTO usage_daily SELECT * FROM usage_daily")
        con.execute("UPDATE usage_coverage SET fetched_at = fetched_at")
        con.execute(
            "INSERT INTO usage_by_category SELECT client_id, usage_date, currency, 'marketing', "
            "'pricing', -1, 0, 0, fetched_at FROM usage_daily LIMIT 1"
        )
    with wh.read() as con:
        duplicates = quality.duplicate_keys(con, quality.USAGE_TABLES)
        negatives = quality.negative_amounts(con, quality.USAGE_TABLES)
    assert duplicates.rows() == [("usage_daily", f"a {D[0]}", 2)]
    assert negatives.rows() == [("usage_by_category", "quantity", 1)]


def test_month_mismatches_are_fetched_whole_months_whose_days_disagree_with_the_api(wh):
    whole = ["match", "revised", "api_said_nothing", "never_fetched"]
    days = [day(c, d, "1") for c in whole for d in FEBRUARY]
    partial = [day("partial", d, "1") for d in FEBRUARY[:6]]
    load_usage(wh, **usage_load(whole, FEBRUARY[0], FEBRUARY[-1], days))
    load_usage(wh, **usage_load(["partial"], FEBRUARY[0], FEBRUARY[5], partial))
    month = FEBRUARY[0]
    with wh.write() as con:
        con.executemany(
            "INSERT INTO usage_monthly_api VALUES (?, ?, 'EUR', 290, 290, ?, ?)",
            [
                ("match", month, Decimal(29), T0),
                ("revised", month, Decimal("29.5"), T0),
                ("partial", month, Decimal(30), T0),
            ],
        )
        con.execute(
            "INSERT INTO raw_balance_fetches VALUES "
            "('api_said_nothing', 'month', '', ?, ?, ?, 'sha', 10, 'file')",
            [month, FEBRUARY[-1], T0],
        )
    with wh.read() as con:
        found = quality.month_mismatches(con)
    assert found.select("client_id", "month", "difference").rows() == [
        ("api_said_nothing", month, Decimal(29)),
        ("revised", month, Decimal("-0.5")),
    ]


def test_latest_covered_date_of_an_empty_warehouse_is_none(wh):
    load_clients(wh, frame(CLIENTS, []), T0)
    with wh.read() as con:
        assert quality.latest_covered_date(con) is None
