"""Offset pagination of the list endpoints, with the decision apart from the loop (as in dlt).

The client loops: it asks `update_request` for the next page's parameters, sends, and hands the
page to `update_state`, which decides whether another page is needed. The API's `count`/`total`
are loosely documented and the server may cap `limit` silently, so the paginator trusts what
actually came back: the offset advances by the items received, a short page ends the listing
only when `total` (if given) agrees, an empty page always ends it, and items are de-duplicated by
`id` in case the pages shifted between two requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class OffsetPaginator:
    def __init__(self, page_size: int) -> None:
        self.page_size = page_size
        self.offset = 0
        self.has_more = True
        self._seen: set[object] = set()
        self.items: list[dict[str, Any]] = []

    def update_request(self, params: dict[str, str | int]) -> None:
        params["limit"] = self.page_size
        params["offset"] = self.offset

    def update_state(self, items: list[dict[str, Any]], envelope: Mapping[str, Any]) -> None:
        new = [item for item in items if self._is_new(item)]
        self.items.extend(new)
        self.offset += len(items)
        total = envelope.get("total")
        total_reached = not isinstance(total, int) or self.offset >= total
        short_page = len(items) < self._honoured_limit(envelope)
        # A page bringing nothing new also ends the listing: a server ignoring `offset` would
        # otherwise be asked forever.
        self.has_more = bool(new) and not (short_page and total_reached)

    def _is_new(self, item: Mapping[str, Any]) -> bool:
        key = item.get("id")
        if key is None:  # nothing to de-duplicate by: keep it
            return True
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def _honoured_limit(self, envelope: Mapping[str, Any]) -> int:
        echoed = envelope.get("limit")
        if isinstance(echoed, int) and 0 < echoed < self.page_size:
            return echoed
        return self.page_size
