"""`replay` trusts no landing file blindly: one that is missing, cut short, corrupt or changed
fails the clients it holds in one line naming it; every other client replays, and nothing the
warehouse held is lost."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from end_to_end.expected import warehouse_usage
from end_to_end.stack import YESTERDAY, Stack, small_options, stack_env
from lake_copies import copy_lake

from pipeline.refresh import run_replay
from pipeline.simulator import run_simulator
from pipeline.warehouse import Warehouse

START = YESTERDAY - timedelta(days=12)
RESTORE = (
    "; restore it from a backup of PIPELINE_RAW_DIR (a run of the range fetches those days anew)"
)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Stack:
    """A loaded range, one landing file per client (batches of one). Replays need no API."""
    tmp = tmp_path_factory.mktemp("loaded")
    with run_simulator(small_options()) as sim:
        stack = Stack(sim, stack_env(sim, tmp, PIPELINE_BATCH_CLIENTS="1"), tmp)
        assert stack.refresh(START, YESTERDAY).success
    return stack


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def corrupt(path: Path) -> None:
    """Bytes overwritten inside the file's footer, where parquet keeps its schema."""
    data = bytearray(path.read_bytes())
    data[-60:-8] = b"\xff" * 52
    path.write_bytes(bytes(data))


def alter(path: Path) -> None:
    """A well-formed file whose first day answer (what a replay reads) is no longer the bytes
    the API sent."""
    frame = pl.read_parquet(path)
    first_day = frame["granularity"].to_list().index("day")
    bodies = frame["body"].to_list()
    bodies[first_day] = bodies[first_day].replace(b"0", b"1", 1)
    frame.with_columns(pl.Series("body", bodies, pl.Binary)).write_parquet(path)


CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "missing": (Path.unlink, r"is missing"),
    "truncated": (
        truncate,
        re.escape("is truncated or corrupt (parquet: File out of specification: ")
        + r"The file must end with PAR1 or PARE\)",
    ),
    "corrupt": (corrupt, re.escape("is truncated or corrupt (parquet: ") + r"[^()]+\)"),
    "altered": (
        alter,
        re.escape("does not hold the bodies the fetch log records (1 of ")
        + r"\d+ differ from their SHA-256 or are absent\)",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_damaged_landing_file_fails_its_client_in_one_line_and_loses_nothing(
    case, loaded, tmp_path, capsys
):
    copy_lake(loaded.tmp, tmp_path)
    wh = Warehouse(tmp_path / "warehouse.sqlite")
    before = warehouse_usage(wh.path, START, YESTERDAY)
    victim = min(client for client, _ in before[0])  # a client with usage
    with wh.read() as con:
        [(name,)] = con.execute(
            "select distinct body_file from raw_balance_fetches where client_id = ?", [victim]
        ).fetchall()
    landing_file = tmp_path / "raw" / name
    damage, reason = CASES[case]
    damage(landing_file)
    # What a transform bug would have left: the others' days gone, the victim's still there.
    with wh.write() as con:
        for table in ("usage_daily", "usage_by_category"):
            con.execute(f"delete from {table} where client_id <> ?", [victim])

    env = {k: v.replace(str(loaded.tmp), str(tmp_path)) for k, v in loaded.env.items()}
    env["DAGSTER_HOME"] = str(tmp_path)
    assert run_replay(env, START, YESTERDAY) == 1

    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    prefix = f"error: replay: client {victim}: raw landing file {landing_file} "
    assert len(errors) == 1 and errors[0].startswith(prefix), errors
    assert re.fullmatch(reason + re.escape(RESTORE), errors[0].removeprefix(prefix)), errors[0]
    assert warehouse_usage(wh.path, START, YESTERDAY) == before
