"""A usage run of a day range without Dagster: which balance requests each client needs (plan),
fetched and saved in batches of clients into a run journal, then published (batches), with
progress lines for long backfills (progress). `replay` rebuilds a range from the raw files.

The `usage` asset and `python -m pipeline replay` call it with plain settings, an API
configuration and a warehouse.
"""

from pipeline.usage_load.batches import UsageRun, fetch_usage_in_batches, replay_in_batches
from pipeline.usage_load.plan import month_end, months_of, months_touched, usage_requests

__all__ = [
    "UsageRun",
    "fetch_usage_in_batches",
    "month_end",
    "months_of",
    "months_touched",
    "replay_in_batches",
    "usage_requests",
]
