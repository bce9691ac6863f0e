"""GET /partners/{id}/balance over HTTP: one object or a list of them, exact decimals; anything
else refused in one line."""

from __future__ import annotations

import json
from decimal import Decimal

import polars as pl
import pytest
from scripted_api import api_error, scripted_api

from pipeline import clock
from pipeline.partner_api import ApiConfig, NotFoundError, PartnerApiClient, Secret
from pipeline.transform import PartnerBalanceFormatError, partner_balance_frame

from .conftest import FAST_RETRY, config_for, run, simulator


def fetch_frame(config: ApiConfig):
    async def scenario():
        async with PartnerApiClient(config) as api:
            return await api.fetch_partner_balance()

    answer = run(scenario())
    return answer, partner_balance_frame(answer.content, answer.fetched_at)


@pytest.mark.parametrize(
    ("currencies", "shape"), [(("EUR",), dict), (("EUR", "USD"), list), (("GBP",), list)]
)
def test_both_shapes_give_one_exact_row_per_currency(currencies, shape):
    forced = {"partner_balance_shape": "list"} if shape is list and len(currencies) == 1 else {}
    with simulator(partner_currencies=currencies, **forced) as sim:
        before = clock.now()  # the client stamps answers by the pipeline's clock
        answer, frame = fetch_frame(config_for(sim))
        truth = sim.partner_balances()

    assert isinstance(json.loads(answer.content), shape)
    assert before <= answer.fetched_at <= clock.now()
    assert frame.schema["total"] == pl.Decimal(38, 10)
    rows = {(r["currency"], r["total"]) for r in frame.iter_rows(named=True)}
    assert rows == set(truth.items()) and len(truth) == len(currencies)
    assert all(isinstance(total, Decimal) for _, total in rows)
    assert frame["observed_at"].unique().to_list() == [answer.fetched_at]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'"100.45"',
            "the partner balance answer is neither an object nor a list of objects "
            "(one per currency)",
        ),
        (
            b'[{"total": 1, "currency": "eur"}, 7]',
            "the partner balance answer is neither an object nor a list of objects "
            "(one per currency)",
        ),
        (
            b'{"total": 0.12345678901, "currency": "eur"}',
            "the partner balance answer, record 1: field 'total' has more than 10 decimal "
            "places or is out of range: '0.12345678901'",
        ),
        (
            b'[{"total": 1, "currency": "eur"}, {"total": "lots", "currency": "usd"}]',
            "the partner balance answer, record 2: field 'total' is not a decimal number: 'lots'",
        ),
        (
            b'[{"total": 1, "currency": "eur"}, {"total": 2, "currency": "EUR"}]',
            "the partner balance answer, record 2: field 'currency' repeats EUR (one record "
            "per currency)",
        ),
        (b'{"total": 1}', "the partner balance answer, record 1: field 'currency' is missing"),
    ],
)
def test_anything_else_is_refused_in_one_line(body, message):
    with scripted_api(lambda asked: (200, body)) as api:
        config = ApiConfig(
            partner_id="pa", api_key=Secret("key"), base_url=api.base_url, retry=FAST_RETRY
        )
        with pytest.raises(PartnerBalanceFormatError) as caught:
            fetch_frame(config)
        assert [a.path for a in api.asked] == ["/partners/pa/balance"]
    assert str(caught.value) == message


def test_a_partner_without_a_balance_is_a_not_found_error_naming_the_endpoint():
    with scripted_api(lambda asked: api_error(404, "Not found")) as api:
        config = ApiConfig(
            partner_id="pa", api_key=Secret("key"), base_url=api.base_url, retry=FAST_RETRY
        )
        with pytest.raises(NotFoundError, match=r"GET /partners/\{partner_id\}/balance, HTTP 404"):
            fetch_frame(config)
