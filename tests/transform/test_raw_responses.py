"""The raw log keeps each balance response exactly as received, with its window."""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from pipeline.transform import raw_responses_frame
from pipeline.transform.schemas import RAW_BALANCE_RESPONSES


@dataclass(frozen=True)
class Response:
    client_id: str
    start: date
    end: date
    granularity: str
    raw_text: str
    fetched_at: datetime


def test_raw_text_is_kept_byte_for_byte_with_its_window() -> None:
    text = '{"balance": 0.0712, "usage": [],\n "currency": "eur"}'
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    frame = raw_responses_frame(
        [Response("c1", date(2026, 1, 1), date(2026, 1, 31), "day", text, at)]
    )

    assert frame.schema == RAW_BALANCE_RESPONSES
    assert frame.row(0) == ("c1", date(2026, 1, 1), date(2026, 1, 31), "day", at, text)


def test_no_responses_is_an_empty_frame_with_the_schema() -> None:
    assert raw_responses_frame([]).schema == RAW_BALANCE_RESPONSES
