"""Fail when a tracked file is over 1 MB: data, builds and binaries do not belong in git.

Run by `make test`; prints one line per offending file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LIMIT_BYTES = 1024 * 1024


def tracked_files(root: Path) -> list[Path]:
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True
    ).stdout
    return [root / name for name in listing.decode().split("\0") if name]


def too_large(root: Path) -> list[tuple[Path, int]]:
    # A tracked file deleted in the working tree is not checked: it is about to go.
    sizes = ((path, path.stat().st_size) for path in tracked_files(root) if path.is_file())
    return [(path, size) for path, size in sizes if size > LIMIT_BYTES]


def main() -> int:
    root = Path(__file__).resolve().parents[1]
    offenders = too_large(root)
    for path, size in offenders:
        print(
            f"{path.relative_to(root)}: {size / LIMIT_BYTES:.1f} MB is over the 1 MB limit for "
            "tracked files; keep it out of git",
            file=sys.stderr,
        )
    return 1 if offenders else 0


if __name__ == "__main__":
    sys.exit(main())
