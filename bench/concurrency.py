"""How many balance requests to keep in flight (D360_CONCURRENCY), and the limiter at work.

The simulator answers each request after a fixed latency, like a remote API; the per-client limit
is on, as on the real API. Simulator (a uvicorn thread) and client share this process and its CPUs.
"""

from __future__ import annotations

from datetime import timedelta

from bench.common import api_config, fetch_usage, section, table, yesterday
from pipeline.simulator import SimulatorOptions, run_simulator

LATENCY = 0.2
LEVELS = (1, 2, 4, 8, 16, 32)
# The unhindered shape: 3 windows a client, under the 5-per-30-s limit, so only the concurrency
# sets the pace.
CLIENTS, WINDOWS, WINDOW_DAYS = 48, 3, 10
# The backfill shape: 8 windows a client, so the per-client limit (here 5 per 3 s) must wait.
LIMITED_CLIENTS, LIMITED_WINDOWS, LIMITED_RATE = 16, 8, (5, 3.0)
LIMITED_LEVELS = (4, 8, 16)


def _run(clients: int, windows: int, rate: tuple[int, float], concurrency: int) -> tuple:
    """Seconds and client counters of one fetch, against a fresh simulator (its sliding windows
    must not remember the previous run's requests)."""
    options = SimulatorOptions(
        seed=3,
        clients=clients,
        history_days=WINDOW_DAYS * windows + 5,
        balance_rate=rate,
        latency_seconds=LATENCY,
    )
    end = yesterday()
    start = end - timedelta(days=WINDOW_DAYS * windows - 1)
    with run_simulator(options) as sim:
        config = api_config(
            sim, concurrency=concurrency, window_days=WINDOW_DAYS, balance_rate=rate
        )
        seconds, _, stats = fetch_usage(config, sim.client_ids(), start, end)
        served_429 = sum(1 for r in sim.requests if r.status == 429)
    return seconds, stats, served_429


def client_floor(windows: int, rate: tuple[int, float], latency: float) -> float:
    """The fastest one client's windows can go: one after the other, each request `latency` long,
    and the (limit+1)-th sent no sooner than `period` after the 1st one's response."""
    limit, period = rate
    done: list[float] = []
    for i in range(windows):
        send = max(done[-1] if done else 0.0, done[i - limit] + period if i >= limit else 0.0)
        done.append(send + latency)
    return done[-1]


def _free_rows() -> list[tuple]:
    rows = []
    for level in LEVELS:
        seconds, stats, served_429 = _run(CLIENTS, WINDOWS, (5, 30.0), level)
        ideal = CLIENTS * WINDOWS * LATENCY / level
        rows.append((level, stats.requests, seconds, ideal, stats.rate_limited + served_429))
    return rows


def _free_table(rows: list[tuple]) -> str:
    return table(
        [
            "concurrency",
            "requests",
            "seconds",
            "ideal (s)",
            "requests/s",
            "speed-up",
            "of ideal",
            "429s",
        ],
        [
            (
                level,
                requests,
                f"{seconds:.2f}",
                f"{ideal:.2f}",
                f"{requests / seconds:.1f}",
                f"{rows[0][2] / seconds:.1f}x",
                f"{ideal / seconds:.0%}",
                errors,
            )
            for level, requests, seconds, ideal, errors in rows
        ],
    )


def _knee(rows: list[tuple]) -> str:
    """Where doubling the concurrency stops nearly halving the time, in words."""
    efficiency = {level: ideal / seconds for level, _, seconds, ideal, _ in rows}
    good = [level for level, e in efficiency.items() if e >= 0.85]
    last = max(good)
    worse = [level for level in efficiency if level > last]
    text = f"Up to {last} in flight the time halves with each doubling ({efficiency[last]:.0%} of "
    if worse:
        text += (
            f"the ideal at {last}); at {worse[0]} it reaches only "
            f"{efficiency[worse[0]]:.0%}: the client's event loop and the in-process "
            "simulator then compete for the 2 CPUs, so that knee is partly this machine's."
        )
    else:
        text += "the ideal there): the client is not what limits the pace."
    return text


def _limited_rows() -> list[tuple]:
    floor = client_floor(LIMITED_WINDOWS, LIMITED_RATE, LATENCY)
    rows = []
    for level in LIMITED_LEVELS:
        seconds, stats, served_429 = _run(LIMITED_CLIENTS, LIMITED_WINDOWS, LIMITED_RATE, level)
        ideal = max(floor, LIMITED_CLIENTS * LIMITED_WINDOWS * LATENCY / level)
        rows.append(
            (
                level,
                stats.requests,
                f"{seconds:.2f}",
                f"{ideal:.2f}",
                f"{stats.throttled_seconds:.1f}",
                stats.rate_limited + served_429,
            )
        )
    return rows


def run() -> str:
    free = _free_rows()
    limited = _limited_rows()
    limit, period = LIMITED_RATE
    return section(
        "Concurrency (`D360_CONCURRENCY`)",
        f"`PartnerApiClient.fetch_usage` against the simulator answering every request after "
        f"{LATENCY * 1000:.0f} ms. First {CLIENTS} clients x {WINDOWS} windows: under the "
        "5-per-30-s per-client limit, so only the requests in flight set the pace. A fresh "
        "simulator per row; the simulator runs in the same process (a uvicorn thread), so "
        "client and server share the CPUs.",
        _free_table(free),
        "Ideal: requests x latency / concurrency. " + _knee(free),
        f"A backfill where the per-client limit bites: {LIMITED_CLIENTS} clients x "
        f"{LIMITED_WINDOWS} windows, limit {limit} per {period:g} s (the real API: 5 per 30 s). "
        "The lower bound is the slower of one client's windows in a row under the limit and "
        "all requests spread over the slots. 429s are those the client saw plus those the "
        "simulator served (both must be 0).",
        table(
            [
                "concurrency",
                "requests",
                "seconds",
                "lower bound (s)",
                "waited on the limiter (s, summed over clients)",
                "429s",
            ],
            limited,
        ),
        RECOMMENDATION,
    )


RECOMMENDATION = """\
**Default: 8.** The client itself is not the limit (the table above), so the default is set by
the real API. Its per-client limit (5 per 30 s) holds each client to one request every 6 s in a
backfill, so C requests in flight at latency L already keep C x 6 / L clients going at full
speed: 8 at 0.5 s serves ~96 clients, beyond which a backfill is bound by the per-client limit
for any concurrency up to the client count. A daily refresh (one window a client) of 1,000
clients at 0.5 s takes ~1,000 x 0.5 / 8 = ~1 min at 8, ~30 s at 16: seconds saved once a day,
against twice the parallel load on an API whose other limits are undocumented. So 8 by default;
a partner with hundreds of clients can raise `D360_CONCURRENCY`."""
