"""make screenshots: the pictures in docs/, taken from a fresh demo.

- docs/report.png: the demo's HTML report, in headless Chromium;
- docs/ui-asset-graph.png: the Dagster UI's global asset lineage (`make dev` on the demo);
- docs/statement-pdf.png: page 1 of the statement of the demo's client with a rate card (unit
  prices and number fees), by pdftoppm.

Needs Debian's chromium and poppler-utils, which `make screenshots` installs when missing.
"""

from __future__ import annotations

import csv
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
DEMO = ROOT / "data" / "demo"
# Headless on this machine's closed network: without the background-networking flags Chromium
# keeps trying Google's hosts.
CHROMIUM = [
    "chromium",
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
# The UI is a JS app that renders after its GraphQL answers: virtual time lets the page run
# that long (timers, layout) before the picture is taken, without waiting it out for real.
UI_RENDER_MS = 20_000
UI_START_SECONDS = 180  # dg dev starts a webserver, a daemon and a code server
CODE_LOCATION = "{ repositoriesOrError { ... on RepositoryConnection { nodes { name } } } }"


def screenshot(url: str, png: Path, width: int, height: int) -> None:
    with tempfile.TemporaryDirectory() as profile:  # a new empty profile: no first-run state
        subprocess.run(
            [
                *CHROMIUM,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--virtual-time-budget={UI_RENDER_MS}",
                f"--screenshot={png}",
                url,
            ],
            check=True,
            capture_output=True,  # Chromium logs its missing D-Bus on every start
        )
    print(png.relative_to(ROOT))


def rate_card_statement(month_folder: Path) -> Path:
    """The statement of the first client in the demo's pricing file (the one with a rate card)."""
    with (DEMO / "pricing.csv").open(newline="") as pricing:
        client = next(csv.DictReader(pricing))["client_id"]
    for pdf in sorted(month_folder.glob("statement-*.pdf")):
        if f"({client})" in PdfReader(pdf).pages[0].extract_text():
            return pdf
    raise SystemExit(f"no statement for {client} in {month_folder}")


def statement_page(png: Path) -> None:
    month_folder = max((DEMO / "reports" / "statements").iterdir())
    pdf = rate_card_statement(month_folder)
    # pdftoppm names its output <root>.png with -singlefile
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            pdf,
            png.with_suffix(""),
        ],
        check=True,
    )
    print(png.relative_to(ROOT), f"({pdf.name})")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_code_location(url: str) -> None:
    deadline = time.monotonic() + UI_START_SECONDS
    while time.monotonic() < deadline:
        try:
            answer = httpx.post(f"{url}/graphql", json={"query": CODE_LOCATION}, timeout=5)
            if answer.json()["data"]["repositoriesOrError"]["nodes"]:
                return
        except (httpx.HTTPError, KeyError, TypeError, ValueError):
            pass  # not up yet
        time.sleep(0.5)
    raise SystemExit(f"the Dagster UI at {url} did not come up")


def asset_graph(png: Path) -> None:
    """`make dev` on the demo's warehouse and Dagster home, so the graph shows its runs."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    dev = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "dev", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_code_location(url)
        screenshot(f"{url}/asset-groups", png, 1600, 1000)
    finally:
        dev.send_signal(signal.SIGINT)  # dev stops dg dev and the simulator on Ctrl-C
        dev.wait(timeout=60)


def main() -> int:
    subprocess.run([sys.executable, "-m", "pipeline", "demo"], cwd=ROOT, check=True)
    report = next((DEMO / "reports").glob("usage-report-*.html"))
    screenshot(report.as_uri(), DOCS / "report.png", 1400, 2040)
    statement_page(DOCS / "statement-pdf.png")
    asset_graph(DOCS / "ui-asset-graph.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
