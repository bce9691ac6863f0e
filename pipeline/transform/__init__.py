"""Transform stage: raw Partner API responses -> tidy polars frames. Pure functions, no I/O."""

from pipeline.transform.balance import balance_snapshots_frame
from pipeline.transform.directory import channels_frame, clients_frame
from pipeline.transform.errors import DirectoryFormatError, TransformError, UsageFormatError
from pipeline.transform.families import DIRECTION_CATEGORIES, category_family
from pipeline.transform.parsing import RawBalance
from pipeline.transform.raw import BalanceResponse, raw_responses_frame
from pipeline.transform.usage import UsageFrames, discover_categories, usage_frames

__all__ = [
    "DIRECTION_CATEGORIES",
    "BalanceResponse",
    "DirectoryFormatError",
    "RawBalance",
    "TransformError",
    "UsageFormatError",
    "UsageFrames",
    "balance_snapshots_frame",
    "category_family",
    "channels_frame",
    "clients_frame",
    "discover_categories",
    "raw_responses_frame",
    "usage_frames",
]
