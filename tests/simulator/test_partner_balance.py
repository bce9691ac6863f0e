"""GET /partners/{id}/balance: one {total, currency} record per top-up currency, exact."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from pipeline.simulator import SimulatorOptions, run_simulator


def partner_balance(options: SimulatorOptions, parse_exact) -> tuple[object, dict[str, Decimal]]:
    with run_simulator(options) as running:
        response = httpx.get(
            f"{running.base_url}/partners/{running.partner_id}/balance",
            headers={"X-API-Key": running.api_key},
        )
        assert response.status_code == 200
        return parse_exact(response), running.partner_balances()


def test_one_currency_is_one_object(sim, api, parse_exact):
    body = parse_exact(api.get(f"/partners/{sim.partner_id}/balance"))
    assert isinstance(body, dict)
    assert set(body) == {"total", "currency"}  # v2's PartnerBalanceOut, nothing more
    assert body == {"total": sim.partner_balances()["EUR"], "currency": "eur"}
    assert isinstance(body["total"], Decimal) and body["total"] > 0


def test_two_currencies_are_a_list_of_objects(sim_options, parse_exact):
    body, truth = partner_balance(
        sim_options(clients=2, partner_currencies=("EUR", "USD")), parse_exact
    )
    assert body == [
        {"total": truth["EUR"], "currency": "eur"},
        {"total": truth["USD"], "currency": "usd"},
    ]
    assert all(isinstance(record["total"], Decimal) for record in body)


def test_list_shape_can_be_forced_for_one_currency(sim_options, parse_exact):
    body, truth = partner_balance(
        sim_options(clients=2, partner_currencies=("GBP",), partner_balance_shape="list"),
        parse_exact,
    )
    assert body == [{"total": truth["GBP"], "currency": "gbp"}]


def test_money_is_written_exactly(sim_options):
    with run_simulator(sim_options(clients=2, partner_currencies=("EUR", "USD", "GBP"))) as running:
        text = httpx.get(
            f"{running.base_url}/partners/{running.partner_id}/balance",
            headers={"X-API-Key": running.api_key},
        ).text
        for total in running.partner_balances().values():
            assert f'"total":{total}' in text


def test_adding_a_currency_changes_nothing_else(sim_options, parse_exact):
    one, one_truth = partner_balance(sim_options(clients=3), parse_exact)
    _, two_truth = partner_balance(
        sim_options(clients=3, partner_currencies=("EUR", "USD")), parse_exact
    )
    assert two_truth["EUR"] == one_truth["EUR"] == one["total"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"partner_currencies": ()},
        {"partner_currencies": ("EUR", "EUR")},
        {"partner_currencies": ("eur",)},
        {"partner_currencies": ("EUR", "USD"), "partner_balance_shape": "object"},
        {"partner_balance_shape": "table"},
    ],
)
def test_bad_partner_balance_options_are_refused(sim_options, overrides):
    with pytest.raises(ValueError, match="partner_"):
        sim_options(**overrides)
