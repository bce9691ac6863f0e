"""The documented error body, and the exception that carries it out of a route."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .wire import ExactJSONResponse


class ApiError(Exception):
    """An error answer: status, a developer message and optional details."""

    def __init__(
        self,
        status: int,
        message: str,
        details: Sequence[str] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = list(details)
        self.headers = dict(headers or {})


def error_response(error: ApiError) -> ExactJSONResponse:
    body = {
        "meta": {
            "success": False,
            "http_code": error.status,
            "developer_message": error.message,
            "details": error.details,
        }
    }
    return ExactJSONResponse(body, status_code=error.status, headers=error.headers)


def bad_request(message: str, *details: str) -> ApiError:
    return ApiError(400, message, details)


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, f"{what} not found", [f"no {what.lower()} with id {ident!r}"])
