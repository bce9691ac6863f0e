"""Any text at all as a client's name, a channel's name or its phone number (the API passes on what
a client types in its hub) goes through the warehouse, the report page, the statement workbook
and the query's CSV and JSON unchanged in meaning, and inert: it never becomes a formula, markup
or anything else than the text it is."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from html import escape
from html.parser import HTMLParser

import pytest
from finance.book import Book, Day, days_between, query
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape
from transform.raw_texts import vendor_json

from pipeline.cell_text import FORMULA_OPENERS
from pipeline.query import run_query
from pipeline.report import build_report
from pipeline.transform import channels_frame, clients_frame
from pipeline.warehouse import Warehouse, load_channels, load_clients

AUGUST, SEPTEMBER = datetime(2024, 8, 1, tzinfo=UTC).date(), datetime(2024, 9, 15, tzinfo=UTC)
CLIENT, CHANNEL = "c1", "ch1"
DIRECTORY = (
    "select c.name, ch.phone_name, ch.phone_number "
    "from clients as c join channels as ch using (client_id)"
)
# Few examples, so the suite stays fast: each builds a report (its charts cost most of a second).
FEW = settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Any Unicode text but surrogates (no UTF-8 encoding, so no API can send them).
ANY_TEXT = st.text(min_size=1, max_size=40)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Warehouse:
    """One client with a month of usage, so it has a statement line and a place in the charts."""
    book = Book()
    book.client(CLIENT)
    book.cover(CLIENT, AUGUST, AUGUST.replace(day=31))
    august = days_between(AUGUST, AUGUST.replace(day=31))
    book.days += [Day(CLIENT, d, "EUR", Decimal(d.day) + Decimal("0.25")) for d in august]
    return book.write(Warehouse(tmp_path_factory.mktemp("names") / "warehouse.sqlite"))


def name_everything(wh: Warehouse, name: str, phone_name: str, phone_number: str) -> None:
    """The texts as the API would send them (JSON), through the transform into the warehouse."""
    client = {**vendor_json("vendor_clients.json")["clients"][0], "id": CLIENT, "name": name}
    channel = {
        **vendor_json("vendor_channels.json")["partner_channels"][0],
        "id": CHANNEL,
        "client_id": CLIENT,
        "setup_info": {"phone_name": phone_name, "phone_number": phone_number},
    }
    client, channel = json.loads(json.dumps([client, channel]))
    load_clients(wh, clients_frame([client], SEPTEMBER), SEPTEMBER)
    load_channels(wh, channels_frame([channel], SEPTEMBER), SEPTEMBER)


def cell_text_back(cell: str) -> str:
    """What a reader takes from a document cell: the text behind OWASP's apostrophe."""
    assert not cell.startswith(FORMULA_OPENERS)  # inert: no spreadsheet reads it as a formula
    return cell.removeprefix("'") if cell.startswith("'") else cell


class Tags(HTMLParser):
    """A page's start tags: in order outside its charts, as a set inside them (where a name of
    several lines is drawn as several <text>). Markup a name smuggled in would add to either."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page: list[str] = []
        self.charts: set[str] = set()
        self._svg_depth = 0
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if self._svg_depth:
            self.charts.add(tag)
        else:
            self.page.append(tag)
        self._svg_depth += tag == "svg"

    def handle_endtag(self, tag: str) -> None:
        self._svg_depth -= tag == "svg"


@given(name=ANY_TEXT, phone_name=ANY_TEXT, phone_number=ANY_TEXT)
@settings(FEW, max_examples=10)
@example(name="=1+1", phone_name="@SUM(A1)", phone_number="+491511234567")
@example(name="'quoted", phone_name="\r\n", phone_number="-")
def test_directory_texts_come_back_exact_from_the_warehouse_csv_and_json(
    warehouse, capsys, name, phone_name, phone_number
):
    name_everything(warehouse, name, phone_name, phone_number)
    texts = [name, phone_name, phone_number]
    [stored] = query(warehouse, DIRECTORY)
    assert list(stored.values()) == texts

    assert run_query(DIRECTORY, warehouse, 10, "csv") == 0
    header, line = csv.reader(io.StringIO(capsys.readouterr().out, newline=""))
    assert [cell_text_back(cell) for cell in line] == texts

    assert run_query(DIRECTORY, warehouse, 10, "json") == 0
    assert json.loads(capsys.readouterr().out) == [dict(zip(header, texts, strict=True))]


@pytest.fixture(scope="module")
def plain_page(warehouse, tmp_path_factory) -> Tags:
    name_everything(warehouse, "Plain Name Ltd", "Plain", "4915112345678")
    files = build_report(warehouse, tmp_path_factory.mktemp("plain"), AUGUST, now=SEPTEMBER)
    return Tags(files.html.read_bytes().decode("utf-8"))


@given(name=ANY_TEXT)
@FEW
@example(name="$x^2$")  # matplotlib's mathtext would draw it as a formula
@example(name=r"$\frac$")  # ... or fail to draw it at all
@example(name="</text><script>alert(1)</script>")
@example(name='=HYPERLINK("http://x","y")')
def test_any_client_name_is_inert_text_in_the_page_and_the_workbook(
    warehouse, plain_page, tmp_path_factory, name
):
    name_everything(warehouse, name, "Plain", "4915112345678")
    files = build_report(
        warehouse, tmp_path_factory.mktemp(uuid.uuid4().hex[:8]), AUGUST, now=SEPTEMBER
    )

    page = files.html.read_bytes().decode("utf-8")  # bytes: read_text would translate CRs
    assert escape(name) in page
    tags = Tags(page)  # no markup the product did not write
    assert tags.page == plain_page.page and tags.charts <= plain_page.charts

    sheet = load_workbook(files.statement)["EUR"]
    [name_cell] = [row[1] for row in sheet.iter_rows(min_row=5) if row[0].value == CLIENT]
    assert name_cell.data_type == "s"
    assert cell_text_back(unescape(name_cell.value)) == name
    formulas = [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert all(c.row == sheet.max_row and c.value.startswith("=SUM(") for c in formulas)
