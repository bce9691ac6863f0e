"""The list endpoints' query language: filters (JSON object), sort, limit/offset under a cap."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import bad_request

_CONTACT = (
    "webpage_url",
    "email",
    "phone",
    "language",
    "country",
    "street_name",
    "city",
    "zip_code",
)
_CLIENT_FIELDS = (
    "id",
    "name",
    "status",
    *(
        f"meta_info.{key}"
        for key in ("business_vertical", "timezone", "about", "business_description", "use_case")
    ),
    *(f"contact_info.{key}" for key in _CONTACT),
    *(f"contact_user.{key}" for key in ("phone", "email", "name")),
)
# The documented fields that the simulated data has (the vendor's lists name more).
CLIENT_FILTERS = frozenset(_CLIENT_FIELDS)
CLIENT_SORTS = frozenset((*_CLIENT_FIELDS, "created_at", "modified_at"))
_CHANNEL_FIELDS = (
    "id",
    "status",
    "client_id",
    "version",
    "is_migrated",
    "account_mode",
    "terminated_at",
    "current_limit",
    "current_quality_rating",
    "created_at",
    "modified_at",
    "setup_info.phone_number",
    "setup_info.phone_name",
    "client.id",
    "client.name",
    "client.partner_payload",
    *(f"client.contact_info.{key}" for key in ("country", "email", "street_name")),
    "integration.app_id",
    "integration.state",
    *(f"waba_account.{key}" for key in ("id", "namespace", "external_id", "fb_business_id")),
    *(f"waba_account.on_behalf_of_business_info.{key}" for key in ("id", "name", "status", "type")),
)
CHANNEL_FILTERS = frozenset(("q", *_CHANNEL_FIELDS))
CHANNEL_SORTS = frozenset(_CHANNEL_FIELDS)
CHANNEL_SEARCH = (
    "setup_info.phone_number",
    "setup_info.phone_name",
    "client.name",
    "client.partner_payload",
    "waba_account.fb_business_id",
)

_MISSING = object()


@dataclass(frozen=True)
class ListQuery:
    filters: dict[str, Any]
    sort: list[str]
    limit: int
    offset: int


def parse_list_query(
    filters: str | None,
    sort: str | None,
    limit: int | None,
    offset: int | None,
    cap: int,
    allowed_filters: Collection[str],
    allowed_sorts: Collection[str],
) -> ListQuery:
    """Validates the query (400 on anything unknown); limit/offset were checked as ints >= 0."""
    parsed: Any = {}
    if filters:
        try:
            parsed = json.loads(filters)
        except ValueError as exc:
            raise bad_request("filters is not valid JSON", str(exc)) from None
    if not isinstance(parsed, dict):
        raise bad_request("filters must be a JSON object", f"got {type(parsed).__name__}")
    unknown = sorted(set(parsed) - set(allowed_filters))
    if unknown:
        raise bad_request("Unknown filter field", *unknown)
    sort_keys = [key.strip() for key in (sort or "id").split(",") if key.strip()]
    bad_sorts = [key for key in sort_keys if key.removeprefix("-") not in allowed_sorts]
    if bad_sorts or not sort_keys:
        raise bad_request("Unknown sort field", *bad_sorts)
    return ListQuery(parsed, sort_keys, min(cap if limit is None else limit, cap), offset or 0)


def lookup(item: dict[str, Any], path: str) -> Any:
    value: Any = item
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _matches(item: dict[str, Any], field: str, wanted: Any, search: Sequence[str]) -> bool:
    if field == "q":
        needle = str(wanted).lower()
        return any(
            needle in str(lookup(item, path)).lower()
            for path in search
            if lookup(item, path) not in (None, _MISSING)
        )
    value = lookup(item, field)
    if value == wanted and type(value) is type(wanted):
        return True
    # Query strings are text: let "2" match 2 and "true" match true.
    return (
        isinstance(wanted, str) and value is not _MISSING and json.dumps(value).strip('"') == wanted
    )


def select(
    items: list[dict[str, Any]], query: ListQuery, search: Sequence[str] = ()
) -> tuple[list[dict[str, Any]], int]:
    """The page asked for and the number of matching items; order is sort keys, then id."""
    matching = [
        item
        for item in items
        if all(_matches(item, field, wanted, search) for field, wanted in query.filters.items())
    ]
    matching.sort(key=lambda item: item["id"])
    for key in reversed(query.sort):  # stable sorts, least significant key first
        path = key.removeprefix("-")
        matching.sort(key=_sort_key_at(path), reverse=key.startswith("-"))
    return matching[query.offset : query.offset + query.limit], len(matching)


def _sort_key_at(path: str) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    return lambda item: _sort_key(lookup(item, path))


def _sort_key(value: Any) -> tuple[bool, Any]:
    missing = value is None or value is _MISSING
    return (missing, "" if missing else value)


def envelope(
    query: ListQuery, page: list[dict[str, Any]], total: int, items_key: str
) -> dict[str, Any]:
    return {
        "count": len(page),
        "filters": query.filters,
        "sort": query.sort,
        "limit": query.limit,
        "offset": query.offset,
        "total": total,
        items_key: page,
    }
