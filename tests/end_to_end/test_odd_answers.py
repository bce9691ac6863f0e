"""Odd balance answers over real HTTP (issue 11, rows 1, 4, 5 and 6): the simulator's malformed
fault spoils some clients' answers, one kind per client; each of them is refused with one line
naming it, keeps what it had, and the others load.

Row 17 (byte-identical re-fetches store no body again, fetch times kept) is
test_secrets_and_replay.py::test_a_byte_identical_refetch_logs_its_time_but_stores_no_body_again.

Two scenarios, run once per module (a refresh costs seconds): `rerun` loads a range cleanly, then
a wider one with seven clients spoiled; `fresh` loads a range into an empty warehouse with two.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import duckdb
import httpx
import polars as pl
import pytest
from end_to_end.expected import expected_usage, warehouse_usage
from end_to_end.stack import YESTERDAY, small_options, stack_env

from pipeline.refresh import run_refresh
from pipeline.simulator import Faults, Simulator, run_simulator
from pipeline.simulator.malformed import NON_UTF8_BYTES
from pipeline.warehouse import Warehouse

# Final days (no estimates), and one day window per run (PIPELINE_WINDOW_DAYS=31): the first row
# of a client's day answer is its first day with usage in the range, the day a row fault names.
START = YESTERDAY - timedelta(days=60)
FIRST = (START, START + timedelta(days=9))
WIDER = (START, START + timedelta(days=19))
# Tables holding a client's loaded usage or observations. raw_balance_fetches is not among them:
# it logs every answer received, refused ones included.
CLIENT_TABLES = (
    "usage_daily",
    "usage_by_category",
    "usage_coverage",
    "usage_monthly_api",
    "balance_snapshots",
)
NO_USAGE_LIST = ("usage_null", "usage_missing")
# What the line says for each row fault (row 5).
ROW_FAULTS = {
    "bad_quantity": "field 'quantity' is not a non-negative integer: 'abc'",
    "huge_number": "field 'total_price' has more than 10 decimal places or is out of range: '1e30'",
    "many_decimals": "field 'total_price' has more than 10 decimal places or is out of range: '",
    "null_total": "field 'total_price' is missing",
    "no_period_date": "period ?: field 'period_date' is missing",
}
REPLACEMENT = "\ufffd"


@dataclass
class Outcome:
    sim: Simulator
    env: dict[str, str]
    victims: dict[str, str]  # client id -> malformed kind
    before: dict[str, dict[str, list[tuple]]]  # victim -> its rows before the spoiled run
    code: int  # exit code of the spoiled run
    errors: list[str]  # its `error:` lines

    @property
    def warehouse(self) -> Path:
        return Path(self.env["PIPELINE_WAREHOUSE"])

    def victim(self, kind: str) -> str:
        return next(cid for cid, k in self.victims.items() if k == kind)

    def lines_naming(self, client_id: str) -> list[str]:
        return [line for line in self.errors if f"client {client_id}," in line]


def run(env: dict[str, str], days: tuple[date, date]) -> tuple[int, list[str]]:
    """`python -m pipeline run` in process: its exit code and its `error:` lines."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = run_refresh(env, *days)
    return code, [line for line in err.getvalue().splitlines() if line.startswith("error:")]


def busy_clients(sim: Simulator, days: tuple[date, date]) -> list[str]:
    """Clients with usage in the range: their day answer has a first row to spoil."""
    return [cid for cid in sim.client_ids() if sim.expected_usage(cid, *days)]


def client_rows(warehouse: Path, client_id: str) -> dict[str, list[tuple]]:
    with Warehouse(warehouse).read() as con:
        return {
            table: con.execute(
                f"select * exclude (client_id) from {table} where client_id = ? order by all",
                [client_id],
            ).fetchall()
            for table in CLIENT_TABLES
        }


@contextlib.contextmanager
def scenario(tmp: Path) -> Iterator[tuple[Simulator, dict[str, str]]]:
    # No rate limit on the simulator's side, so the tests' own requests never meet a 429; the
    # pipeline still holds itself to D360_BALANCE_RATE.
    with run_simulator(small_options(clients=12, balance_rate=None)) as sim:
        yield (
            sim,
            stack_env(sim, tmp, PIPELINE_WINDOW_DAYS="31", DAGSTER_HOME=str(tmp / "dagster_home")),
        )


@pytest.fixture(scope="module")
def rerun(tmp_path_factory) -> Iterator[Outcome]:
    """FIRST loaded cleanly, then WIDER with seven clients' answers spoiled (rows 1 and 5)."""
    with scenario(tmp_path_factory.mktemp("rerun")) as (sim, env):
        kinds = [*NO_USAGE_LIST, *ROW_FAULTS]
        victims = dict(zip(busy_clients(sim, WIDER), kinds, strict=False))
        assert len(victims) == len(kinds) < len(sim.client_ids())
        assert run(env, FIRST) == (0, [])
        warehouse = Path(env["PIPELINE_WAREHOUSE"])
        before = {victim: client_rows(warehouse, victim) for victim in victims}
        sim.set_faults(Faults(malformed=victims))
        yield Outcome(sim, env, victims, before, *run(env, WIDER))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Iterator[Outcome]:
    """FIRST into an empty warehouse, one client with a negative price, one with bytes that are
    not UTF-8 (rows 4 and 6)."""
    with scenario(tmp_path_factory.mktemp("fresh")) as (sim, env):
        victims = dict(zip(busy_clients(sim, FIRST), ["negative_price", "non_utf8"], strict=False))
        sim.set_faults(Faults(malformed=victims))
        before = {victim: {table: [] for table in CLIENT_TABLES} for victim in victims}
        yield Outcome(sim, env, victims, before, *run(env, FIRST))


@pytest.mark.parametrize("kind", NO_USAGE_LIST)
def test_an_answer_without_a_usage_list_keeps_the_clients_days_and_covers_none(rerun, kind) -> None:
    victim = rerun.victim(kind)
    assert rerun.code == 1
    [line] = rerun.lines_naming(victim)
    assert f"client {victim}, period -: field 'usage' is missing (expected a list)" in line
    # Its ten days as the clean run left them, fetch times included; none of the ten new days is
    # claimed covered, and no balance observation was taken from the refused answers.
    before = rerun.before[victim]
    assert len(before["usage_coverage"]) == 10 and before["usage_daily"]
    assert client_rows(rerun.warehouse, victim) == before


@pytest.mark.parametrize("kind", ROW_FAULTS)
def test_a_malformed_answer_fails_only_its_client_with_one_line(rerun, kind) -> None:
    victim = rerun.victim(kind)
    assert rerun.code == 1
    [line] = rerun.lines_naming(victim)
    assert ROW_FAULTS[kind] in line
    if kind != "no_period_date":
        first_day = rerun.sim.expected_usage(victim, *WIDER)[0]["period_date"]
        assert f"client {victim}, period {first_day}: field '" in line
    assert client_rows(rerun.warehouse, victim) == rerun.before[victim]


def test_the_clients_with_well_formed_answers_load_whole(rerun) -> None:
    others_match_the_simulator(rerun, WIDER)


def test_a_negative_price_loads_nothing_of_the_client_and_names_client_day_field(fresh) -> None:
    victim = fresh.victim("negative_price")
    assert fresh.code == 1
    [line] = fresh.lines_naming(victim)
    first_day = fresh.sim.expected_usage(victim, *FIRST)[0]["period_date"]
    assert f"client {victim}, period {first_day}: field '" in line
    assert "_price' is negative: '-" in line and "refunds and credits are refused" in line
    assert client_rows(fresh.warehouse, victim) == fresh.before[victim]
    # The others load, and what loaded is published, the victim's nothing included.
    others_match_the_simulator(fresh, FIRST)
    glob = Path(fresh.env["PIPELINE_EXPORT_DIR"]) / "usage_daily" / "*" / "*.parquet"
    with duckdb.connect() as con:
        exported = {c for (c,) in con.execute(f"select client_id from '{glob}'").fetchall()}
    with Warehouse(fresh.warehouse).read() as con:
        loaded = {c for (c,) in con.execute("select client_id from usage_daily").fetchall()}
    assert exported == loaded and victim not in loaded


def test_non_utf8_bytes_are_kept_exactly_and_the_answer_is_refused(fresh) -> None:
    victim = fresh.victim("non_utf8")
    assert fresh.code == 1
    [line] = fresh.lines_naming(victim)
    assert f"client {victim}, period -: field '(body)' is not valid UTF-8" in line
    assert client_rows(fresh.warehouse, victim) == fresh.before[victim]

    # The landing files hold each of the victim's answers byte for byte, as served.
    with Warehouse(fresh.warehouse).read() as con:
        fetches = con.sql(
            "select window_start, window_end, granularity, body_sha256, body_file "
            "from raw_balance_fetches where client_id = ?",
            params=[victim],
        ).pl()
    assert {"day", "month"} == set(fetches["granularity"])
    raw_dir = fresh.warehouse.parent / "raw"
    for fetch in fetches.iter_rows(named=True):
        stored = pl.read_parquet(raw_dir / fetch["body_file"]).filter(
            pl.col("body_sha256") == fetch["body_sha256"]
        )
        body = served(fresh.sim, victim, fetch)
        assert NON_UTF8_BYTES in body
        assert stored["body"].to_list() == [body]

    # No replacement character anywhere: tables, exports, landing files, Dagster's storage.
    with Warehouse(fresh.warehouse).read() as con:
        for (table,) in con.execute("select table_name from duckdb_tables()").fetchall():
            assert not [v for v in texts(con.sql(f"from {table}").pl()) if REPLACEMENT in v]
    files = [
        *Path(fresh.env["PIPELINE_EXPORT_DIR"]).resolve().rglob("*.parquet"),
        *raw_dir.rglob("*.parquet"),
    ]
    assert len(files) > 10
    for file in files:
        assert not [v for v in texts(pl.read_parquet(file)) if REPLACEMENT in v], file
    home = [p for p in Path(fresh.env["DAGSTER_HOME"]).rglob("*") if p.is_file()]
    assert home
    for file in home:
        assert REPLACEMENT.encode() not in file.read_bytes(), file


def others_match_the_simulator(outcome: Outcome, days: tuple[date, date]) -> None:
    """Every client not spoiled holds exactly what the simulator serves, every day covered."""
    refused = set(outcome.victims)
    for want, got in zip(
        expected_usage(outcome.sim, *days), warehouse_usage(outcome.warehouse, *days), strict=True
    ):
        assert {k: v for k, v in got.items() if k[0] not in refused} == {
            k: v for k, v in want.items() if k[0] not in refused
        }
    with Warehouse(outcome.warehouse).read() as con:
        [(covered,)] = con.execute(
            "select count(*) from usage_coverage where usage_date between ? and ? "
            "and not list_contains(?, client_id)",
            [*days, sorted(refused)],
        ).fetchall()
    clients = len(outcome.sim.client_ids()) - len(refused)
    assert covered == clients * ((days[1] - days[0]).days + 1)


def served(sim: Simulator, client_id: str, fetch: dict) -> bytes:
    """The body the simulator serves for a logged fetch's window, asked as the pipeline asks."""
    start = datetime.combine(fetch["window_start"], time(), tzinfo=UTC)
    end = datetime.combine(fetch["window_end"], time(23, 59, 59), tzinfo=UTC)
    response = httpx.get(
        f"{sim.base_url}/partners/{sim.partner_id}/clients/{client_id}/info/balance",
        params={
            "start_date": int(start.timestamp()),
            "end_date": int(end.timestamp()),
            "granularity": fetch["granularity"],
        },
        headers={"X-API-Key": sim.api_key},
    )
    assert response.status_code == 200
    return response.content


def texts(frame: pl.DataFrame) -> list[str]:
    return [v for c, t in frame.schema.items() if t == pl.String for v in frame[c] if v]
