"""Runs the simulator with uvicorn in a background thread on loopback; the handle tests use."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import uvicorn

from .app import create_app
from .faults import ConnectionDropped
from .options import Faults, SimulatorOptions
from .requestlog import RequestRecord
from .runtime import Runtime
from .usage import monthly_rows
from .usage_wire import row_dict


class _HideDroppedConnections(logging.Filter):
    """A dropped connection is an injected fault, not a server error worth a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


logging.getLogger("uvicorn.error").addFilter(_HideDroppedConnections())


@dataclass(frozen=True)
class ChannelFacts:
    """What tests may need about a channel: ids, when it could send, whether it is listed."""

    channel_id: str
    app_id: str
    client_id: str
    created_at: datetime
    cancelled_at: datetime | None  # no usage after this day
    listed: bool  # False while the hide_channel fault leaves it out of the listings


class Simulator:
    """A running simulator: where it listens, its credentials, and hooks for tests."""

    def __init__(self, runtime: Runtime, host: str, port: int) -> None:
        self._runtime = runtime
        self.host = host
        self.port = port
        self.base_url = f"http://{host}:{port}/api/v2"
        self.partner_id = runtime.options.partner_id

    def __repr__(self) -> str:
        return f"Simulator(base_url={self.base_url!r}, partner_id={self.partner_id!r})"

    @property
    def api_key(self) -> str:
        return self._runtime.options.api_key

    @property
    def username(self) -> str:
        return self._runtime.options.username

    @property
    def password(self) -> str:
        return self._runtime.options.password

    @property
    def options(self) -> SimulatorOptions:
        return self._runtime.options

    @property
    def first_usage_day(self) -> date:
        return self._runtime.world.history_start

    @property
    def today(self) -> date:
        """The simulator's today (UTC): usage reaches the day before."""
        return self._runtime.world.today

    def client_ids(self) -> list[str]:
        return sorted(self._runtime.world.clients)

    def channel_app_ids(self, client_id: str) -> list[str]:
        """Every channel of the client, hidden from the listings or not (channels() says)."""
        return sorted(ch.app_id for ch in self._runtime.world.channels_of(client_id))

    def set_today(self, today: date) -> None:
        """Moves the end of the usage history (usage reaches the day before `today`): days come
        in, and recent estimates become final, as on the real API when time passes."""
        self._runtime.world.today = today

    def rename_client(self, client_id: str, name: str) -> None:
        """Gives the client a new name, as a client does by typing one in its hub (anything at
        all): the next listings carry it."""
        client = self._runtime.client(client_id)
        client.name = name
        client.modified_at = self._runtime.world.clock()

    def client_currency(self, client_id: str) -> str:
        """The ISO currency (upper case) the client is billed in."""
        return self._runtime.client(client_id).currency

    def channel_count(self) -> int:
        """Every channel of every client, hidden from the listings or not."""
        return sum(len(self._runtime.world.channels_of(c)) for c in self._runtime.world.clients)

    def payment_mode(self, client_id: str) -> Literal["partner", "direct"]:
        return "partner" if self._runtime.client(client_id).partner_paid else "direct"

    def expected_usage(
        self,
        client_id: str,
        start: date,
        end: date,
        granularity: Literal["day", "month"] = "day",
        app_ids: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Exactly the usage rows the API serves for start..end (inclusive), money as Decimal,
        under the faults currently set (schema drift changes rows). app_ids: the rows served
        with that app_id filter (the sum of those channels)."""
        runtime = self._runtime
        client = runtime.client(client_id)
        rows = runtime.usage.day_rows(
            client,
            start,
            end,
            None if app_ids is None else frozenset(app_ids),
            runtime.faults.faults.schema_drift,
        )
        if granularity == "month":
            rows = monthly_rows(rows)
        return [row_dict(row, client.currency) for row in rows]

    def expected_channel_usage(
        self,
        client_id: str,
        start: date,
        end: date,
        granularity: Literal["day", "month"] = "day",
    ) -> dict[str, list[dict[str, Any]]]:
        """Per-channel truth: app_id -> exactly the rows served with `app_id=<that app>`, for
        every channel of the client, listed or hidden. For every period they add up, column by
        column (a column missing from a row counting as 0), to expected_usage's row."""
        return {
            app_id: self.expected_usage(client_id, start, end, granularity, [app_id])
            for app_id in self.channel_app_ids(client_id)
        }

    def channels(self, client_id: str) -> list[ChannelFacts]:
        """The client's channels as the simulator knows them, hidden ones included."""
        runtime = self._runtime
        hidden = runtime.faults.faults.hidden_channels
        return sorted(
            (
                ChannelFacts(
                    channel_id=ch.id,
                    app_id=ch.app_id,
                    client_id=ch.client_id,
                    created_at=ch.created_at,
                    cancelled_at=ch.cancelled_at,
                    listed=ch.app_id not in hidden,
                )
                for ch in runtime.world.channels_of(client_id)
            ),
            key=lambda facts: facts.app_id,
        )

    def partner_balances(self) -> dict[str, Decimal]:
        """ISO currency (upper case) -> the partner's prepaid total, in top-up order."""
        return dict(self._runtime.world.partner.balances)

    @property
    def requests(self) -> list[RequestRecord]:
        return self._runtime.log.snapshot()

    def clear_requests(self) -> None:
        self._runtime.log.clear()

    @property
    def faults(self) -> Faults:
        return self._runtime.faults.faults

    def set_faults(self, faults: Faults) -> None:
        """Switches faults now; the fault schedule's request counter starts again."""
        self._runtime.faults.set(faults)

    def expire_tokens(self) -> None:
        """Revokes every bearer token issued so far."""
        self._runtime.credentials.revoke_all_tokens()

    def advance_clock(self, seconds: float) -> None:
        """Moves the simulator's time forward, as if `seconds` had passed: tokens expire, rate
        windows slide and cancellations complete without anyone waiting."""
        self._runtime.clock.advance(seconds)


@contextmanager
def run_simulator(opts: SimulatorOptions | None = None) -> Iterator[Simulator]:
    """Serves the simulator until the block ends; binds opts.port (0: a free port)."""
    opts = opts or SimulatorOptions()
    runtime = Runtime.create(opts)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((opts.host, opts.port))
    config = uvicorn.Config(
        create_app(runtime),
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="d360-simulator", daemon=True
    )
    thread.start()
    try:
        _wait_started(server, thread)
        yield Simulator(runtime, opts.host, sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=0.5)
        if thread.is_alive():  # requests still in flight (a slow fault): stop waiting for them
            server.force_exit = True
            thread.join(timeout=5)
        sock.close()


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the simulator's server did not start")
        time.sleep(0.005)
