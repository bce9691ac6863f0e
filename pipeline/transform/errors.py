"""Errors raised when a raw Partner API response does not have the shape the warehouse relies on."""

from __future__ import annotations

_MAX_VALUE_CHARS = 40


def show_value(value: object) -> str:
    """A short, one-line rendering of an offending value (raw responses carry no secrets)."""
    text = repr(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


class TransformError(ValueError):
    """Base class: a raw response cannot be turned into warehouse rows without guessing."""


class UsageFormatError(TransformError):
    """A `/info/balance` response (usage row or balance field) is malformed; one line, no guessing.

    `period` is the row's `period_date` as sent, or a description of where in the response
    (e.g. "balance") when the problem is not in a usage row.
    """

    def __init__(self, client_id: str, period: str, field: str, problem: str) -> None:
        self.client_id = client_id
        self.period = period
        self.field = field
        self.problem = problem
        super().__init__(f"client {client_id}, period {period}: field {field!r} {problem}")


class DirectoryFormatError(TransformError):
    """A client or channel object from the list endpoints is malformed."""

    def __init__(self, kind: str, item_id: str, field: str, problem: str) -> None:
        self.kind = kind
        self.item_id = item_id
        self.field = field
        self.problem = problem
        super().__init__(f"{kind} {item_id}: field {field!r} {problem}")


class PartnerBalanceFormatError(TransformError):
    """A `GET /partners/{id}/balance` answer is malformed: the body itself (`record` None), or a
    field of one of its records (counted from 1)."""

    def __init__(self, problem: str, record: int | None = None, field: str | None = None) -> None:
        self.record = record
        self.field = field
        self.problem = problem
        where = "" if record is None else f", record {record}: field {field!r}"
        super().__init__(f"the partner balance answer{where} {problem}")
