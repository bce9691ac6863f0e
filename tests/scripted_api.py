"""A scripted Partner API on loopback, for answers the simulator never gives: a page served twice,
a `total` that lies, a refused token quoted back. Real HTTP, like the simulator: each test says
what to answer as a function of the request, and can read back what was asked."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

PREFIX = "/api/v2"


@dataclass(frozen=True)
class Asked:
    method: str
    path: str  # without the /api/v2 prefix, e.g. /partners/pa/clients
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


Script = Callable[[Asked], tuple[int, Any]]
"""What to answer: (status, body); a body that is not bytes is sent as JSON."""


@dataclass
class ScriptedApi:
    base_url: str
    asked: list[Asked] = field(default_factory=list)
    # Like the simulator's handle, so the same helpers build a pipeline environment for both; the
    # script decides what it accepts.
    partner_id: str = "pa"
    api_key: str = "key"

    def paths(self, suffix: str) -> list[Asked]:
        return [a for a in self.asked if a.path.endswith(suffix)]


def api_error(status: int, message: str) -> tuple[int, Any]:
    """An answer in the vendor's error shape."""
    return status, {"meta": {"success": False, "http_code": status, "developer_message": message}}


@contextmanager
def scripted_api(script: Script) -> Iterator[ScriptedApi]:
    """Serves `script` on a free loopback port until the block ends."""
    api: ScriptedApi

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            asked = Asked(
                self.command,
                url.path.removeprefix(PREFIX),
                dict(parse_qsl(url.query)),
                dict(self.headers.items()),
                self.rfile.read(length),
            )
            api.asked.append(asked)
            status, body = script(asked)
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass  # no access log on the test's stderr

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api = ScriptedApi(f"http://127.0.0.1:{server.server_address[1]}{PREFIX}")
    thread = threading.Thread(target=server.serve_forever, name="scripted-api", daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
