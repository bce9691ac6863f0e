"""OffsetPaginator's decisions, page by page (the HTTP loop is covered in test_lists.py)."""

from __future__ import annotations

from pipeline.partner_api.pagination import OffsetPaginator


def items(*ids):
    return [{"id": i} for i in ids]


def test_requests_advance_by_the_items_actually_received():
    paginator = OffsetPaginator(page_size=10)
    params: dict = {}
    paginator.update_request(params)
    assert params == {"limit": 10, "offset": 0}
    paginator.update_state(items(1, 2, 3), {"limit": 3, "total": 8})  # server capped limit to 3
    paginator.update_request(params)
    assert params == {"limit": 10, "offset": 3}
    assert paginator.has_more


def test_a_short_page_ends_the_listing_when_total_agrees_or_is_absent():
    done_by_total = OffsetPaginator(page_size=10)
    done_by_total.update_state(items(1, 2), {"total": 2})
    assert not done_by_total.has_more
    no_total = OffsetPaginator(page_size=10)
    no_total.update_state(items(1, 2), {})
    assert not no_total.has_more


def test_a_silently_capped_page_goes_on_while_total_is_not_reached():
    paginator = OffsetPaginator(page_size=10)
    paginator.update_state(items(1, 2, 3), {"limit": 10, "total": 5})
    assert paginator.has_more
    paginator.update_state(items(4, 5), {"limit": 10, "total": 5})
    assert not paginator.has_more
    assert [i["id"] for i in paginator.items] == [1, 2, 3, 4, 5]


def test_a_full_page_goes_on_even_when_total_says_done():
    paginator = OffsetPaginator(page_size=2)
    paginator.update_state(items(1, 2), {"total": 2})
    assert paginator.has_more  # total is loosely documented: only an empty/short page ends it
    paginator.update_state([], {"total": 2})
    assert not paginator.has_more


def test_shifted_pages_are_de_duplicated_by_id():
    paginator = OffsetPaginator(page_size=2)
    paginator.update_state(items("a", "b"), {})
    paginator.update_state(items("b", "c"), {})  # an insertion before "b" shifted the pages
    paginator.update_state(items("d"), {})
    assert [i["id"] for i in paginator.items] == ["a", "b", "c", "d"]
    assert not paginator.has_more


def test_a_server_ignoring_offset_does_not_loop_forever_and_is_not_trusted():
    paginator = OffsetPaginator(page_size=2)
    paginator.update_state(items("a", "b"), {"total": 10})
    paginator.update_state(items("a", "b"), {"total": 10})
    assert not paginator.has_more
    assert paginator.problem == "the page at offset 2 repeated items already listed"


def test_a_listing_ending_short_of_its_own_total_is_not_trusted():
    paginator = OffsetPaginator(page_size=2)
    paginator.update_state(items("a", "b"), {"total": 5})
    paginator.update_state([], {"total": 5})
    assert not paginator.has_more
    assert paginator.problem == "it ended with 2 items, short of its own total 5"


def test_the_latest_total_is_the_one_a_listing_must_reach():
    shrunk = OffsetPaginator(page_size=2)  # one client removed while the list was paged
    shrunk.update_state(items("a", "b"), {"total": 4})
    shrunk.update_state(items("c"), {"total": 3})
    assert (shrunk.has_more, shrunk.problem) == (False, None)
    grown = OffsetPaginator(page_size=2)  # one added at the front: "b" comes again, "z" missed
    grown.update_state(items("a", "b"), {"total": 3})
    grown.update_state(items("b", "c"), {"total": 4})
    grown.update_state([], {"total": 4})
    assert grown.problem == "it ended with 3 items, short of its own total 4"


def test_a_complete_listing_has_no_problem():
    paginator = OffsetPaginator(page_size=2)
    paginator.update_state(items("a", "b"), {"total": 3})
    paginator.update_state(items("c"), {"total": 3})
    assert (paginator.has_more, paginator.problem) == (False, None)
