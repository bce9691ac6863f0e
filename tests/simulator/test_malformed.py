"""The malformed-answer fault: one client's balance answers spoiled one way, everything else as
served without it, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest

from pipeline.simulator import Faults, Simulator, run_simulator
from pipeline.simulator.cli import _faults, _parser
from pipeline.simulator.malformed import MALFORMED_KINDS, NON_UTF8_BYTES

JULY = (date(2025, 7, 1), date(2025, 7, 31))


@pytest.fixture(scope="module")
def spoiled(sim_options) -> Iterator[Simulator]:
    with run_simulator(sim_options(clients=6)) as running:
        yield running


@pytest.fixture
def fetch(spoiled: Simulator, day_window):
    def balance(client_id: str, granularity: str = "day") -> bytes:
        response = httpx.get(
            f"{spoiled.base_url}/partners/{spoiled.partner_id}/clients/{client_id}/info/balance",
            params={**day_window(*JULY), "granularity": granularity},
            headers={"X-API-Key": spoiled.api_key},
        )
        assert response.status_code == 200
        return response.content

    yield balance
    spoiled.set_faults(Faults())


def two_busy_clients(sim: Simulator) -> tuple[str, str]:
    busy = [cid for cid in sim.client_ids() if sim.expected_usage(cid, *JULY)]
    return busy[0], busy[1]


def parse(body: bytes) -> dict:
    return json.loads(body, parse_float=Decimal)


@pytest.mark.parametrize("kind", MALFORMED_KINDS)
def test_only_the_clients_answers_are_spoiled_and_only_as_asked(spoiled, fetch, kind) -> None:
    victim, bystander = two_busy_clients(spoiled)
    clean = {cid: {g: fetch(cid, g) for g in ("day", "month")} for cid in (victim, bystander)}
    spoiled.set_faults(Faults(malformed={victim: kind}))
    spoiled.clear_requests()
    served = {cid: {g: fetch(cid, g) for g in ("day", "month")} for cid in (victim, bystander)}

    assert served[bystander] == clean[bystander]
    assert [r.fault for r in spoiled.requests] == [f"malformed:{kind}"] * 2 + [None] * 2
    for granularity in ("day", "month"):
        body, before = served[victim][granularity], clean[victim][granularity]
        assert body != before
        if kind == "non_utf8":
            with pytest.raises(UnicodeDecodeError):
                body.decode()
            assert body.replace(NON_UTF8_BYTES, b"", 1) == before
            continue
        answer, expected = parse(body), parse(before)
        if kind in ("usage_null", "usage_missing"):
            assert ("usage" in answer) == (kind == "usage_null") and answer.get("usage") is None
            answer.pop("usage", None), expected.pop("usage")
            assert answer == expected
            continue
        row, expected_row = answer["usage"][0], expected["usage"][0]
        assert answer["usage"][1:] == expected["usage"][1:]
        changed = {k for k in {*row, *expected_row} if row.get(k) != expected_row.get(k)}
        assert len(changed) == 1
        [field] = changed
        value = row.get(field, "absent")
        if kind == "negative_price":
            assert field.endswith("_price") and value == -expected_row[field] < 0
        elif kind == "bad_quantity":
            assert (field, value) == ("quantity", "abc")
        elif kind == "huge_number":
            assert field == "total_price" and b'"total_price":1e30' in body
        elif kind == "many_decimals":
            assert field == "total_price"
            assert value == expected_row[field] + Decimal("1e-15")
            assert value.as_tuple().exponent == -15
        elif kind == "null_total":
            assert (field, value) == ("total_price", None)
        else:
            assert (field, value) == ("period_date", "absent")


def test_a_malformed_fault_options_becomes_the_fault() -> None:
    faults = _faults(["malformed=aCL:usage_null,bCL:non_utf8", "malformed=cCL:bad_quantity"])
    assert faults == Faults(
        malformed={"aCL": "usage_null", "bCL": "non_utf8", "cCL": "bad_quantity"}
    )


@pytest.mark.parametrize("spec", ["malformed=", "malformed=aCL", "malformed=aCL:,bCL:null_total"])
def test_a_bad_malformed_option_is_refused(spec) -> None:
    with pytest.raises(ValueError, match="bad --fault"):
        _faults([spec])


def test_an_unknown_malformed_kind_names_the_kinds() -> None:
    with pytest.raises(ValueError, match="unknown malformed kind 'garbled': one of usage_null"):
        _faults(["malformed=aCL:garbled"])


def test_faults_cannot_be_changed_through_the_callers_mapping() -> None:
    kinds = {"aCL": "usage_null"}
    faults = Faults(malformed=kinds)
    kinds["bCL"] = "non_utf8"
    assert dict(faults.malformed) == {"aCL": "usage_null"}
    assert isinstance(hash(faults), int)  # options holding faults stay hashable


def test_help_documents_every_malformed_kind() -> None:
    text = " ".join(_parser().format_help().split())
    assert "malformed=CLIENT_ID:KIND" in text
    for kind in MALFORMED_KINDS:
        assert kind in text
