"""The errors a user can fix, and how they are shown: one line each."""

from __future__ import annotations

from pipeline.clock import ClockError
from pipeline.partner_api import PartnerApiError
from pipeline.settings import SettingsError
from pipeline.warehouse import WarehouseError

# Errors whose message says what was wrong and how to fix it; anything else is a bug.
UserError = (SettingsError, ClockError, PartnerApiError, WarehouseError)


def one_line(error: BaseException | str) -> str:
    return " ".join(str(error).split())
