"""The raw log keeps each balance answer's bytes exactly as received, with its request."""

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime

from pipeline.transform import raw_answers_frame
from pipeline.transform.schemas import RAW_BALANCE_ANSWERS


@dataclass(frozen=True)
class Response:
    client_id: str
    start: date
    end: date
    granularity: str
    content: bytes
    fetched_at: datetime
    app_id: str | None = None


def test_the_body_is_kept_byte_for_byte_with_its_request_and_hash() -> None:
    # not valid UTF-8, and a newline: neither may be touched
    body = b'{"balance": 0.0712, "usage": [],\n "note": "caf\xe9", "currency": "eur"}'
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    frame = raw_answers_frame(
        [
            Response("c1", date(2026, 1, 1), date(2026, 1, 31), "day", body, at),
            Response("c1", date(2026, 1, 1), date(2026, 1, 31), "day", b"{}", at, app_id="app9"),
        ]
    )

    assert frame.schema == RAW_BALANCE_ANSWERS
    digest = hashlib.sha256(body).hexdigest()
    first = ("c1", "day", "", date(2026, 1, 1), date(2026, 1, 31), at, digest, len(body), body)
    assert frame.row(0) == first
    assert frame.row(1)[2] == "app9" and frame.row(1)[-1] == b"{}"


def test_no_responses_is_an_empty_frame_with_the_schema() -> None:
    assert raw_answers_frame([]).schema == RAW_BALANCE_ANSWERS
