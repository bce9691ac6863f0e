"""Every request the simulator answered, for tests that count requests per client."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_CLIENT_IN_PATH = re.compile(r"/clients/([^/]+)")


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]  # the query string's parameters (the last value of a repeated one)
    client_id: str | None  # the client in the path, if any
    status: int  # for a dropped connection: the status that was announced before the drop
    fault: str | None  # the injected fault kind, None when the request was served normally
    at: float  # time.time() when the answer finished
    arrived: float  # time.time() when the request came in

    @property
    def faulted(self) -> bool:
        return self.fault is not None


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


class RequestLogMiddleware:
    """Outermost ASGI layer: records method, path, status and the fault the route noted."""

    def __init__(self, app: ASGIApp, log: RequestLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        status = 500
        arrived = time.time()

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            match = _CLIENT_IN_PATH.search(scope["path"])
            self.log.add(
                RequestRecord(
                    scope["method"],
                    scope["path"],
                    dict(parse_qsl(scope["query_string"].decode("latin-1"))),
                    match.group(1) if match else None,
                    status,
                    state.get("fault"),
                    time.time(),
                    arrived,
                )
            )
