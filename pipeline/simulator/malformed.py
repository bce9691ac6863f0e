"""Malformed balance answers on demand (`Faults.malformed`): what a buggy or hostile API might
send, so the pipeline's refusal of it can be tested over real HTTP.

Every balance answer of a listed client (day, month and app_id-filtered ones alike) is
corrupted the same way; the normal answer is built first and then spoiled, so everything else
in it stays as served without the fault. Kinds that spoil a usage row spoil the answer's first
row and leave an answer without rows as it is.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal, get_args

import simplejson

from .wire import dumps

MalformedKind = Literal[
    "usage_null",  # "usage": null
    "usage_missing",  # no "usage" key at all
    "negative_price",  # the first row's first non-zero <category>_price (else total_price) < 0
    "bad_quantity",  # the first row's "quantity": "abc"
    "huge_number",  # the first row's "total_price": 1e30
    "many_decimals",  # the first row's "total_price" with 15 decimal places
    "null_total",  # the first row's "total_price": null
    "no_period_date",  # the first row without "period_date"
    "non_utf8",  # bytes that are not UTF-8 inside the "currency" string
]
MALFORMED_KINDS: tuple[str, ...] = get_args(MalformedKind)

# Latin-1 and stray bytes, as a server mixing encodings would send: none of them starts a valid
# UTF-8 sequence here (0xe9 expects continuation bytes, 0xff and 0xfe never occur in UTF-8).
NON_UTF8_BYTES = b"\xe9\xff\xfe"


def spoil(body: bytes, kind: str) -> bytes:
    """The answer `body` (well-formed JSON, as the route builds it) corrupted as `kind` says."""
    if kind == "non_utf8":
        marker = b'"currency":"'
        at = body.index(marker) + len(marker)
        return body[:at] + body[at:].replace(b'"', NON_UTF8_BYTES + b'"', 1)
    answer: dict[str, Any] = simplejson.loads(body, use_decimal=True)
    if kind == "usage_null":
        answer["usage"] = None
    elif kind == "usage_missing":
        del answer["usage"]
    elif answer["usage"]:
        _spoil_row(answer["usage"][0], kind)
    return dumps(answer)


def _spoil_row(row: dict[str, Any], kind: str) -> None:
    if kind == "negative_price":
        prices = [k for k in row if k.endswith("_price") and k != "total_price" and row[k]]
        field = prices[0] if prices else "total_price"
        row[field] = -(row[field] or Decimal("0.0100"))
    elif kind == "bad_quantity":
        row["quantity"] = "abc"
    elif kind == "huge_number":
        row["total_price"] = simplejson.RawJSON("1e30")
    elif kind == "many_decimals":
        # 4 decimals on the wire, 11 more: the exact value plus 1e-15.
        row["total_price"] = simplejson.RawJSON(f"{row['total_price']}00000000001")
    elif kind == "null_total":
        row["total_price"] = None
    elif kind == "no_period_date":
        del row["period_date"]
    else:
        raise ValueError(f"unknown malformed kind {kind!r}")
