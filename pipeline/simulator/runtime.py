"""Everything the routes share during one run: world, usage, credentials, limits, faults, log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from .auth import Credentials
from .clock import SimulatorClock
from .errors import not_found
from .faults import FaultSchedule
from .options import SimulatorOptions
from .population import build_world
from .ratelimit import SlidingWindowLimit, TooManyRequests
from .requestlog import RequestLog
from .usage import UsageGenerator
from .world import Channel, Client, World


@dataclass
class Runtime:
    options: SimulatorOptions
    world: World
    usage: UsageGenerator
    credentials: Credentials
    too_many: TooManyRequests
    balance_limit: SlidingWindowLimit | None
    faults: FaultSchedule
    log: RequestLog
    clock: SimulatorClock

    @classmethod
    def create(cls, opts: SimulatorOptions) -> Runtime:
        clock = SimulatorClock(opts.today)
        world = build_world(opts, clock.now)
        too_many = TooManyRequests(opts.retry_after)
        limit = (
            SlidingWindowLimit(*opts.balance_rate, too_many, clock.monotonic)
            if opts.balance_rate is not None
            else None
        )
        return cls(
            opts,
            world,
            UsageGenerator(world, opts.seed, opts.estimate_days),
            Credentials(opts.api_key, opts.username, opts.password, opts.token_ttl_seconds, clock),
            too_many,
            limit,
            FaultSchedule(opts.faults),
            RequestLog(),
            clock,
        )

    def client(self, client_id: str) -> Client:
        client = self.world.clients.get(client_id)
        if client is None:
            raise not_found("Client", client_id)
        return client

    def channel(self, channel_id: str, client_id: str | None = None) -> Channel:
        channel = self.world.channels.get(channel_id)
        if channel is None or (client_id is not None and channel.client_id != client_id):
            raise not_found("Channel", channel_id)
        return channel

    @property
    def cancellation_delay(self) -> timedelta:
        return timedelta(seconds=self.options.cancellation_delay_seconds)
