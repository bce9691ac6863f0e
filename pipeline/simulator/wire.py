"""JSON on the wire: Decimal money written exactly, never through float."""

from __future__ import annotations

from typing import Any

import simplejson
from starlette.responses import Response


def dumps(content: Any) -> bytes:
    """Compact, deterministic JSON; Decimals are written digit for digit."""
    return simplejson.dumps(
        content, use_decimal=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


class ExactJSONResponse(Response):
    """A JSON response that keeps Decimal exact (FastAPI's default would turn it into float)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def success_meta(message: str, **extra: Any) -> ExactJSONResponse:
    """The vendor's acknowledgement body for control operations."""
    body: dict[str, Any] = {
        "meta": {"success": True, "http_code": 200, "developer_message": message}
    }
    body.update(extra)
    return ExactJSONResponse(body)
