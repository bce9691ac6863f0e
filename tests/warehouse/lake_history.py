"""A lake with the history maintenance is for: a month loaded and closed into statements, then
daily refreshes (each refetching the last days, so most rows of the day before's files are
deleted), a revision of the closed month, and tiny commits that DuckLake inlines in the catalog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from finance.book import Book, Category, Day, days_between
from warehouse.wh_frames import category, day, usage_load

from pipeline.finance.close import close_month
from pipeline.warehouse import Snapshot, Warehouse, load_usage

JULY, AUGUST = date(2024, 7, 1), date(2024, 8, 1)
CLIENTS = ("acme", "beta", "corp", "dyna", "echo", "fox")
CLOSE_AT = datetime(2024, 8, 2, 9, 0, tzinfo=UTC)
REFETCH_DAYS = 3
TABLES = (
    "clients",
    "usage_daily",
    "usage_by_category",
    "usage_coverage",
    "usage_monthly_api",
    "statements",
    "statement_lines",
)
DRAFT = (
    "SELECT client_id, kind, category, amount FROM statement_draft_lines WHERE month = ? "
    "ORDER BY ALL"
)
INVOICED = (
    "SELECT s.client_id, l.kind, l.category, l.amount FROM statement_lines l "
    "JOIN statements s USING (statement_number) WHERE s.month = ? ORDER BY ALL"
)


@dataclass(frozen=True)
class History:
    statement_snapshot: int
    """The snapshot July's statements record."""
    refreshes_after_close: list[int]
    """The snapshot of each daily refresh committed after the close, in order."""


def july_book() -> Book:
    """Every client's July, reconciled with the API's month figure, so July closes as is."""
    book = Book(settings=(Decimal(0), 7))
    for client_id in CLIENTS:
        book.client(client_id)
        book.cover(client_id, JULY, date(2024, 7, 31))
        for when in days_between(JULY, date(2024, 7, 31)):
            price = Decimal(when.day) / 8 + len(client_id)
            book.days.append(Day(client_id, when, "EUR", price, 10, 8, 1, 1))
            book.categories.append(Category(client_id, when, "EUR", "marketing", "pricing", price))
        total = sum((d.total_price for d in book.days if d.client_id == client_id), Decimal(0))
        book.api_months.append((client_id, JULY, "EUR", 310, 248, total))
    return book


def refresh(wh: Warehouse, last: date, bump: int, clients: tuple[str, ...] = CLIENTS) -> None:
    """A daily run: the days from `last - REFETCH_DAYS` to `last` fetched again."""
    first = last - timedelta(days=REFETCH_DAYS)
    days, categories = [], []
    for client_id in clients:
        for when in days_between(first, last):
            price = f"{when.day + bump}.{len(client_id)}"
            days.append(day(client_id, when, price))
            categories.append(category(client_id, when, "marketing", price))
    load_usage(wh, **usage_load(clients, first, last, days, categories))


def build_history(wh: Warehouse, refreshes: int = 4) -> History:
    """July closed after `refreshes` daily runs of August, then as many again, one more
    revising July's last days, and three one-client runs small enough to be inlined."""
    july_book().write(wh)
    first_run = AUGUST + timedelta(days=REFETCH_DAYS)  # refetches August's first days, not July's
    for n in range(refreshes):
        refresh(wh, first_run + timedelta(days=n), bump=n)
    close_month(wh, JULY, now=CLOSE_AT)
    for n in range(refreshes):
        refresh(wh, first_run + timedelta(days=refreshes + n), bump=n)
    refresh(wh, date(2024, 7, 31), bump=100)  # July revised after its close
    for n in range(3):
        refresh(wh, first_run + timedelta(days=n), bump=7, clients=("fox",))
    [(statement_snapshot,)] = snapshot_ids(wh, "SELECT DISTINCT snapshot_id FROM statements")
    after = snapshot_ids(
        wh,
        "SELECT snapshot_id FROM warehouse.snapshots() "
        f"WHERE snapshot_id > {statement_snapshot} AND commit_message LIKE 'usage %'",
    )
    return History(statement_snapshot, [s for (s,) in after])


def snapshot_ids(wh: Warehouse, sql: str = "SELECT snapshot_id FROM warehouse.snapshots()") -> list:
    with wh.read() as con:
        return con.execute(f"{sql} ORDER BY 1").fetchall()


def snapshot_time(wh: Warehouse, snapshot: int) -> datetime:
    with wh.read() as con:
        [(moment,)] = con.execute(
            "SELECT snapshot_time FROM warehouse.snapshots() WHERE snapshot_id = ?", [snapshot]
        ).fetchall()
    return moment


def contents(wh: Warehouse, snapshot: Snapshot | None = None) -> dict[str, list[tuple]]:
    """The rows, sorted, of every table the history writes, as of `snapshot` (else the latest)."""
    with wh.read(snapshot) as con:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}


def folder_files(wh: Warehouse) -> dict[str, int]:
    """The files of a lake whose data path is a folder, listed by the file system: path -> bytes."""
    return {str(p): p.stat().st_size for p in Path(wh.data_path).rglob("*") if p.is_file()}


def july_lines(wh: Warehouse, sql: str, snapshot: Snapshot | None = None) -> list[tuple]:
    with wh.read(snapshot) as con:
        return con.execute(sql, [JULY]).fetchall()
