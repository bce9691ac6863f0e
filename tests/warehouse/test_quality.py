from datetime import date, timedelta
from decimal import Decimal

from warehouse.wh_frames import CLIENTS, T0, category, client, day, frame, usage_load

from pipeline.warehouse import create_views, load_clients, load_usage, quality

D = [date(2024, 3, 1) + timedelta(days=i) for i in range(3)]


def test_quality_queries_return_the_problem_rows(wh):
    load_clients(wh, frame(CLIENTS, [client("a"), client("b")]), T0)
    negative = {**day("a", D[0], "-0.5"), "free_tier": -1}
    load_usage(
        wh, **usage_load(["a"], D[0], D[2], [negative], [category("a", D[0], "marketing", "-0.5")])
    )
    load_usage(wh, **usage_load(["b"], D[0], D[0], []))
    create_views(wh)
    with wh.read() as con:
        assert quality.duplicate_keys(con, "usage_daily").height == 0
        negatives = quality.negative_amounts(con)
        gaps = quality.coverage_gaps(con, D[0], D[2])
        gaps_for_c = quality.coverage_gaps(con, D[1], D[1], ["a", "c"])
        latest = quality.latest_covered_date(con)
        mismatches = quality.usage_family_mismatches(con)
    assert negatives.select("table_name", "column_name", "value").rows() == [
        ("usage_by_category", "price", Decimal("-0.5")),
        ("usage_daily", "free_tier", Decimal("-1")),
        ("usage_daily", "total_price", Decimal("-0.5")),
    ]
    assert gaps.rows() == [("b", D[1]), ("b", D[2])]
    assert gaps_for_c.rows() == [("c", D[1])]
    assert latest == D[2]
    assert mismatches.height == 0


def test_duplicate_keys_reports_each_duplicated_key(wh):
    load_usage(wh, **usage_load(["a"], D[0], D[1], [day("a", d, "1") for d in D[:2]]))
    with wh.write() as con:  # a table rebuilt without its key, rows copied in twice
        con.execute(
            "CREATE TABLE rebuilt AS SELECT * FROM usage_daily "
            "UNION ALL SELECT * FROM usage_daily WHERE usage_date = ?",
            [D[1]],
        )
    with wh.read() as con:
        found = quality.duplicate_keys(con, "rebuilt", ["client_id", "usage_date"])
        assert quality.duplicate_keys(con, "usage_daily").height == 0
    assert found.rows() == [("a", D[1], 2)]


def test_latest_covered_date_of_an_empty_warehouse_is_none(wh):
    load_clients(wh, frame(CLIENTS, []), T0)
    with wh.read() as con:
        assert quality.latest_covered_date(con) is None
