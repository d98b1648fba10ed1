"""Natural sort order for file names: ``slice_2.tif`` before ``slice_10.tif``."""

from __future__ import annotations

import re

__all__ = ["natural_key"]

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> list:
    """A sort key that compares runs of digits as numbers."""
    return [int(part) if part.isdigit() else part.lower() for part in _DIGITS.split(name)]
