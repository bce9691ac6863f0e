"""Retry-After parsing and the one-line shape of error messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from pipeline.partner_api import NotFoundError
from pipeline.partner_api.errors import parse_retry_after, redact


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (" 0 ", 0.0),
        ("2.5", 2.5),
        ("-3", 0.0),
        ("soon", None),
        (None, None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date in the past: go now
    ],
)
def test_retry_after_in_seconds_or_as_a_past_date(header, seconds):
    assert parse_retry_after(header) == seconds


def test_retry_after_as_a_future_http_date():
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 28 <= parse_retry_after(when) <= 30


def test_an_error_is_one_line_with_endpoint_client_status_message_and_hint():
    error = NotFoundError(
        "not found",
        endpoint="GET /partners/{partner_id}/clients/{client_id}",
        client_id="abcCL",
        status=404,
        developer_message="Client not found",
        hint="check D360_PARTNER_ID",
    )
    assert str(error) == (
        "not found (GET /partners/{partner_id}/clients/{client_id}, client abcCL,"
        " HTTP 404): API says 'Client not found'; check D360_PARTNER_ID"
    )


def test_redact_replaces_every_secret():
    assert redact("key k-1 and pw p-2 and k-1", ["k-1", "p-2", ""]) == "key *** and pw *** and ***"
