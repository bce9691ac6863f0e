"""The directory runs: a listing that shrinks too much or cannot be trusted is not loaded, clients
gone from a trusted one are recorded as removed, and the partner balance is snapshotted on every
run. Real Dagster runs over real HTTP, into real DuckDB files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from end_to_end.stack import YESTERDAY, small_options, stack_env
from scripted_api import Asked, scripted_api

from pipeline.definitions import build_definitions
from pipeline.defs.directory import shrink_problem
from pipeline.refresh import RefreshOutcome, execute_refresh
from pipeline.simulator import run_simulator
from pipeline.warehouse import Warehouse

SHRINK_HINT = (
    "nothing was loaded. If that many {name} were really removed (check the 360dialog Partner "
    "Hub), confirm with PIPELINE_ALLOW_LISTING_SHRINK=on and run again"
)


def refresh(sim: Any, tmp: Path, **env: str) -> RefreshOutcome:
    """One day's refresh (directory, usage, publish) of the warehouse in `tmp` against `sim`."""
    defs = build_definitions(stack_env(sim, tmp, **env))
    with dg.DagsterInstance.ephemeral() as instance:
        return execute_refresh(defs, YESTERDAY, YESTERDAY, instance)


def query(tmp: Path, sql: str) -> list[tuple]:
    with Warehouse(tmp / "warehouse.sqlite").read() as con:
        return con.execute(sql).fetchall()


def client_ids(tmp: Path) -> list[str]:
    return [c for (c,) in query(tmp, "select client_id from clients order by 1")]


def test_a_listing_that_shrinks_too_much_stops_the_run_until_the_operator_confirms(tmp_path):
    confirmed_dir, threshold_dir = tmp_path / "confirmed", tmp_path / "threshold"
    with run_simulator(small_options()) as eight:
        for folder in (confirmed_dir, threshold_dir):
            assert refresh(eight, folder).success
        everyone = eight.client_ids()
    with run_simulator(small_options(clients=5)) as five:  # the same world, three clients fewer
        refused = refresh(five, confirmed_dir)
        assert client_ids(confirmed_dir) == everyone  # nothing was loaded
        usage_asked = [r for r in five.requests if r.path.endswith("/info/balance")]
        confirmed = refresh(five, confirmed_dir, PIPELINE_ALLOW_LISTING_SHRINK="on")
        within = refresh(five, threshold_dir, PIPELINE_LISTING_SHRINK_PCT="45")
        remaining = five.client_ids()

    assert (
        "clients: the clients listing has 5 clients where the warehouse holds 8 (37% fewer; "
        f"PIPELINE_LISTING_SHRINK_PCT=20): {SHRINK_HINT.format(name='clients')}"
    ) in refused.problems
    assert usage_asked == []  # no usage was fetched for a directory not loaded
    for folder, outcome in ((confirmed_dir, confirmed), (threshold_dir, within)):
        assert outcome.success, outcome.problems
        assert client_ids(folder) == remaining
        gone = query(folder, "select client_id from clients_history where removed order by 1")
        assert [client_id for (client_id,) in gone] == sorted(set(everyone) - set(remaining))


def test_an_empty_listing_stops_the_run_and_keeps_the_directory(tmp_path):
    with run_simulator(small_options()) as eight:
        assert refresh(eight, tmp_path).success
        channels = eight.channel_count()
    with run_simulator(small_options(clients=0)) as nobody:
        outcome = refresh(nobody, tmp_path)

    assert outcome.problems == [
        f"channels: the channels listing has 0 channels where the warehouse holds {channels} "
        f"(100% fewer; PIPELINE_LISTING_SHRINK_PCT=20): {SHRINK_HINT.format(name='channels')}",
        "clients: the clients listing has 0 clients where the warehouse holds 8 (100% fewer; "
        f"PIPELINE_LISTING_SHRINK_PCT=20): {SHRINK_HINT.format(name='clients')}",
    ]
    assert query(tmp_path, "select count(*) from clients") == [(8,)]
    assert query(tmp_path, "select count(*) from channels") == [(channels,)]
    assert query(tmp_path, "select count(*) from clients_history where removed") == [(0,)]


def repeating_directory(asked: Asked) -> tuple[int, Any]:
    """A partner API whose clients list serves its first page again at every offset (with a
    `total` of 5), as in the reproduction of issue 11 row 2; channels and balance are fine."""
    clients = [{"id": f"cl{i}", "name": f"Client {i}"} for i in range(5)]
    if asked.path.endswith("/clients"):
        envelope = {"count": 2, "limit": 2, "offset": asked.query["offset"], "total": 5}
        return 200, {**envelope, "clients": clients[:2]}
    if asked.path.endswith("/channels"):
        channel = {"id": "ch0", "client_id": "cl0", "integration": {"app_id": "app0"}}
        return 200, {"count": 1, "total": 1, "partner_channels": [channel]}
    return 200, {"total": 10, "currency": "eur"}


def test_a_listing_that_repeats_a_page_fails_the_run_in_one_line_and_loads_nothing(tmp_path):
    with scripted_api(repeating_directory) as api:
        outcome = refresh(api, tmp_path)
        listings = len(api.paths("/clients"))

    assert outcome.problems == [
        "clients: the clients listing cannot be trusted after 3 attempts: the page at offset 2 "
        "repeated items already listed (GET /partners/{partner_id}/clients); nothing was loaded "
        "from it; retry later, and tell 360dialog if it persists"
    ]
    assert listings == 3 * 2  # three listings, each stopped at its repeated second page
    assert query(tmp_path, "select count(*) from clients") == [(0,)]


@pytest.mark.parametrize("currencies", [("EUR",), ("EUR", "USD")])
def test_the_partner_balance_is_snapshotted_on_every_run_in_both_shapes(tmp_path, currencies):
    with run_simulator(small_options(partner_currencies=currencies)) as sim:
        assert refresh(sim, tmp_path).success
        assert refresh(sim, tmp_path).success
        truth = sim.partner_balances()

    rows = query(
        tmp_path,
        "select observed_at, currency, total from partner_balance_snapshots order by all",
    )
    observations = sorted({observed_at for observed_at, _, _ in rows})
    assert len(observations) == 2
    for observed_at in observations:
        assert {(c, t) for at, c, t in rows if at == observed_at} == set(truth.items())


@pytest.mark.parametrize(
    ("held", "listed", "max_pct", "problem"),
    [
        (10, 8, 20, None),  # 20% fewer: at the threshold, loaded
        (10, 7, 20, "the clients listing has 7 clients where the warehouse holds 10 (30% fewer"),
        (10, 7, 30, None),
        (10, 12, 0, None),  # growth is never in doubt
        (0, 3, 20, None),  # a first listing
        (
            0,
            0,
            20,
            "the clients listing is empty: nothing was loaded. If the partner really has "
            "no clients yet, confirm with PIPELINE_ALLOW_LISTING_SHRINK=on and run again",
        ),
        (3, 0, 100, "the clients listing has 0 clients where the warehouse holds 3 (100% fewer"),
    ],
)
def test_when_a_listing_needs_the_operators_word(held, listed, max_pct, problem):
    found = shrink_problem("clients", held, listed, max_pct)
    assert (found is None) == (problem is None)
    assert found is None or found.startswith(problem)
