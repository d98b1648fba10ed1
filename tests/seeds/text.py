"""Comparing printed output with the seeds' text."""

from __future__ import annotations

import re


def squash(text: str) -> str:
    """Collapse whitespace, as the seed text shows printed output on one line."""
    return re.sub(r"\s+", " ", str(text)).strip()


def seed_name(text: str) -> str:
    """The seed's output with zarr's type names translated to zarrflow's."""
    return (
        text.replace("zarr.core.Array", "zarrflow.Array")
        .replace("zarr.hierarchy.Group", "zarrflow.Group")
        .replace("zarr.storage.", "zarrflow.storage.")
    )
