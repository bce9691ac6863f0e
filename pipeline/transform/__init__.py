"""Transform stage: raw Partner API responses -> tidy polars frames. Pure functions, no I/O."""

from pipeline.transform.balance import balance_snapshots_frame
from pipeline.transform.batch import BatchFrames, batch_frames
from pipeline.transform.channels import UNATTRIBUTED, channel_usage_tables
from pipeline.transform.directory import channels_frame, clients_frame
from pipeline.transform.errors import (
    DirectoryFormatError,
    PartnerBalanceFormatError,
    TransformError,
    UsageFormatError,
)
from pipeline.transform.families import DIRECTION_CATEGORIES, category_family
from pipeline.transform.parsing import RawBalance
from pipeline.transform.partner import partner_balance_frame
from pipeline.transform.raw import BalanceResponse, raw_answers_frame
from pipeline.transform.usage import UsageFrames, discover_categories, usage_frames

__all__ = [
    "DIRECTION_CATEGORIES",
    "UNATTRIBUTED",
    "BalanceResponse",
    "BatchFrames",
    "DirectoryFormatError",
    "PartnerBalanceFormatError",
    "RawBalance",
    "TransformError",
    "UsageFormatError",
    "UsageFrames",
    "balance_snapshots_frame",
    "batch_frames",
    "category_family",
    "channel_usage_tables",
    "channels_frame",
    "clients_frame",
    "discover_categories",
    "partner_balance_frame",
    "raw_answers_frame",
    "usage_frames",
]
