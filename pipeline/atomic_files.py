"""Documents written whole or not at all: a reader never opens half a report or half a CSV.

Each is written beside its target under a temporary name and renamed over it, so when the disk
fills mid-write the file published before stays as it was, and the error says which path.
"""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Callable
from pathlib import Path

from pipeline.settings import SettingsError


def write_atomically(target: Path, write: Callable[[Path], object], where: str) -> None:
    """Call `write` with a staging path beside `target`, then rename it over `target`. An OS
    error (no space, no permission) is one line naming `where` (the setting or option that
    chose the path) and the path; the staging file never stays behind."""
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write(staging)
        os.replace(staging, target)
    except OSError as error:
        fix = "free some space there" if error.errno == errno.ENOSPC else "choose a writable folder"
        raise SettingsError(
            f"{where}: cannot write {target} ({error.strerror or error}); {fix}"
        ) from None
    finally:
        staging.unlink(missing_ok=True)
