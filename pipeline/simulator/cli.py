"""`python -m pipeline simulator`: serve the simulator alone until Ctrl-C."""

from __future__ import annotations

import argparse
import secrets
import shlex
import sys
import threading
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from pipeline.partner_api.config import parse_rate
from pipeline.settings import read_environment

from .options import Faults, SimulatorOptions
from .server import Simulator, run_simulator

FAULT_HELP = """faults (repeatable): 5xx=N[:LEN] a burst of LEN 5xx every N requests;
drop=N close the connection mid-body every N requests; slow=N[:SECONDS] answer late;
429=N forced 429; token-expiry=N revoke bearer tokens; drift unknown usage category and
missing optional fields; vanish=CLIENT_ID[,CLIENT_ID...] balance answers 404 for those
clients; hide_channel=APP_ID[,APP_ID...] the channel listings leave out those channels
while their usage still counts in their client's totals (and answers their app_id filter);
malformed=CLIENT_ID:KIND[,CLIENT_ID:KIND...] every balance answer of that client is malformed,
KIND one of: usage_null, usage_missing (no usage list), negative_price, bad_quantity ("abc"),
huge_number (1e30), many_decimals (15 decimal places), null_total, no_period_date (the row
kinds spoil each answer's first usage row), non_utf8 (bytes that are not UTF-8 in the currency
string). N counts requests to the balance and list endpoints."""


def serve(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = read_environment()
    try:
        opts = _options(args, env)
    except ValueError as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    try:
        with run_simulator(opts) as sim:
            print(_banner(sim, env))
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                print("\nsimulator stopped")
    except OSError as exc:
        print(
            f"simulator: cannot listen on {opts.host}:{opts.port}: {exc.strerror}", file=sys.stderr
        )
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    defaults = SimulatorOptions()
    parser = argparse.ArgumentParser(
        prog="python -m pipeline simulator",
        description="Serve a local 360dialog Partner API v2 simulator. Credentials come from "
        "D360_PARTNER_ID, D360_API_KEY, D360_USERNAME, D360_PASSWORD (environment "
        "or ./.env); missing ones are made up and printed.",
        epilog=FAULT_HELP,
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    add("--port", type=int, default=8360, help="port to listen on (default %(default)s)")
    add(
        "--seed",
        type=int,
        default=defaults.seed,
        help="the same seed gives the same data, byte for byte (default %(default)s)",
    )
    add("--clients", type=int, default=defaults.clients, help="clients (default %(default)s)")
    add(
        "--channels-per-client",
        type=int,
        default=defaults.max_channels_per_client,
        help="most channels a client has (default %(default)s)",
    )
    add(
        "--history-days",
        type=int,
        default=defaults.history_days,
        help="usage from this many days ago up to yesterday, UTC (default %(default)s)",
    )
    add(
        "--today",
        type=date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="the simulator's today, UTC: usage reaches the day before (default: the real date; "
        "give a pipeline the same date in PIPELINE_TODAY)",
    )
    add(
        "--rate",
        default="5/30",
        help="balance requests per client: N/SECONDS, or off (default %(default)s)",
    )
    add(
        "--retry-after",
        choices=("always", "never", "sometimes"),
        default=defaults.retry_after,
        help="whether a 429 carries Retry-After (default %(default)s)",
    )
    add(
        "--max-page-size",
        type=int,
        default=defaults.max_page_size,
        help="cap on a list page's limit (default %(default)s)",
    )
    add(
        "--max-window-days",
        type=int,
        default=defaults.max_window_days,
        help="widest balance window accepted (default %(default)s)",
    )
    add(
        "--estimate-days",
        type=int,
        default=defaults.estimate_days,
        help="the last N days are estimates, revised upwards until final (default %(default)s)",
    )
    add(
        "--latency",
        type=float,
        default=0.0,
        help="seconds added to every request (default %(default)s)",
    )
    add(
        "--token-ttl",
        type=float,
        default=defaults.token_ttl_seconds,
        help="bearer token lifetime in seconds (default %(default)s)",
    )
    add(
        "--partner-currencies",
        default=",".join(defaults.partner_currencies),
        help="the partner's prepaid top-up currencies, comma-separated ISO codes "
        "(default %(default)s)",
    )
    add(
        "--partner-balance-shape",
        choices=("auto", "object", "list"),
        default=defaults.partner_balance_shape,
        help="GET /partners/{id}/balance body: auto is one object with one currency and a "
        "list with several; list is a list even of one (default %(default)s)",
    )
    add("--fault", action="append", default=[], metavar="KIND[=SPEC]", help="see below")
    return parser


def _options(args: argparse.Namespace, env: Mapping[str, str | None]) -> SimulatorOptions:
    credentials: dict[str, Any] = {
        "partner_id": env.get("D360_PARTNER_ID") or "simPA",
        "api_key": env.get("D360_API_KEY") or f"sim-{secrets.token_urlsafe(18)}",
        "username": env.get("D360_USERNAME") or "partner@example.com",
        "password": env.get("D360_PASSWORD") or secrets.token_urlsafe(12),
    }
    return SimulatorOptions(
        seed=args.seed,
        clients=args.clients,
        max_channels_per_client=args.channels_per_client,
        history_days=args.history_days,
        today=args.today,
        balance_rate=_rate(args.rate),
        retry_after=args.retry_after,
        max_page_size=args.max_page_size,
        max_window_days=args.max_window_days,
        estimate_days=args.estimate_days,
        token_ttl_seconds=args.token_ttl,
        latency_seconds=args.latency,
        host=args.host,
        port=args.port,
        partner_currencies=tuple(
            code.strip().upper() for code in args.partner_currencies.split(",") if code.strip()
        ),
        partner_balance_shape=args.partner_balance_shape,
        faults=_faults(args.fault),
        **credentials,
    )


def _rate(text: str) -> tuple[int, float] | None:
    if text.lower() == "off":
        return None
    try:
        return parse_rate(text)
    except ValueError as exc:
        raise ValueError(f"--rate {text!r} {exc} (or off)") from None


def _faults(specs: list[str]) -> Faults:
    fields: dict[str, Any] = {}
    for spec in specs:
        kind, _, value = spec.partition("=")
        every, _, extra = value.partition(":")
        try:
            if kind == "drift":
                fields["schema_drift"] = True
            elif kind == "vanish" and value:
                fields["vanished_clients"] = frozenset(value.split(","))
            elif kind in ("hide_channel", "hide-channel") and value:
                fields["hidden_channels"] = frozenset(value.split(","))
            elif kind == "malformed" and value:
                fields["malformed"] = {**fields.get("malformed", {}), **_malformed(value)}
            elif kind == "5xx":
                fields.update(error_burst_every=int(every), error_burst_length=int(extra or 1))
            elif kind == "slow":
                fields.update(slow_every=int(every), slow_seconds=float(extra or 5))
            elif kind in ("drop", "429", "token-expiry"):
                name = {
                    "drop": "drop_every",
                    "429": "rate_limit_every",
                    "token-expiry": "token_expiry_every",
                }[kind]
                fields[name] = int(every)
            else:
                raise ValueError
        except ValueError:
            raise ValueError(f"bad --fault {spec!r}") from None
    return replace(Faults(), **fields)


def _malformed(value: str) -> dict[str, str]:
    """CLIENT_ID:KIND[,CLIENT_ID:KIND...]; the kind is checked by Faults."""
    pairs = [part.partition(":") for part in value.split(",")]
    if not all(client_id and kind for client_id, _, kind in pairs):
        raise ValueError
    return {client_id: kind for client_id, _, kind in pairs}


def _banner(sim: Simulator, env: Mapping[str, str | None]) -> str:
    def export(name: str, value: str, secret: bool) -> str:
        if secret and env.get(name):
            return f"# {name}: from your environment"
        return f"export {name}={shlex.quote(value)}"

    opts = sim.options
    lines = [
        f"360dialog Partner API simulator: seed {opts.seed}, {opts.clients} clients, usage "
        f"{sim.first_usage_day} .. yesterday (UTC). Ctrl-C stops it.",
        f"OpenAPI: {sim.base_url}/openapi.json",
        export("D360_BASE_URL", sim.base_url, secret=False),
        export("D360_PARTNER_ID", sim.partner_id, secret=False),
        export("D360_API_KEY", sim.api_key, secret=True),
        export("D360_USERNAME", sim.username, secret=False),
        export("D360_PASSWORD", sim.password, secret=True),
    ]
    return "\n".join(lines)
