"""Offset pagination of the list endpoints, with the decision apart from the loop (as in dlt).

The client loops: it asks `update_request` for the next page's parameters, sends, and hands the
page to `update_state`, which decides whether another page is needed. The API's `count`/`total`
are loosely documented and the server may cap `limit` silently, so the paginator trusts what
actually came back: the offset advances by the items received, a short page ends the listing
only when `total` (if given) agrees, an empty page always ends it, and items are de-duplicated by
`id` in case the pages shifted between two requests.

What it does not do is guess. A page bringing nothing new (the server repeated a page, or
ignores `offset`), or a listing that ends with fewer items than its own `total`, ends the
listing with a `problem`: it may be missing clients, and loading it would drop them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class OffsetPaginator:
    def __init__(self, page_size: int) -> None:
        self.page_size = page_size
        self.offset = 0
        self.has_more = True
        self.problem: str | None = None
        """Why the listing cannot be trusted, once it has ended; None when it can."""
        self._total: int | None = None
        self._seen: set[object] = set()
        self.items: list[dict[str, Any]] = []

    def update_request(self, params: dict[str, str | int]) -> None:
        params["limit"] = self.page_size
        params["offset"] = self.offset

    def update_state(self, items: list[dict[str, Any]], envelope: Mapping[str, Any]) -> None:
        new = [item for item in items if self._is_new(item)]
        if items and not new:
            # Without this stop a server ignoring `offset` would be asked forever.
            self._end(f"the page at offset {self.offset} repeated items already listed")
            return
        self.items.extend(new)
        self.offset += len(items)
        total = envelope.get("total")
        if isinstance(total, int) and not isinstance(total, bool):
            self._total = total  # the latest: the list may change while it is paged
        total_reached = self._total is None or self.offset >= self._total
        short_page = len(items) < self._honoured_limit(envelope)
        if not items or (short_page and total_reached):
            self._end(None)

    def _end(self, problem: str | None) -> None:
        self.has_more = False
        if problem is None and self._total is not None and len(self.items) < self._total:
            problem = f"it ended with {len(self.items)} items, short of its own total {self._total}"
        self.problem = problem

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
