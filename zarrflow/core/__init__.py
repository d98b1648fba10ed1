"""The store engine: metadata, chunk grid, indexing, codecs, arrays. Never imports dask.

``zarrflow.core.Array`` is zarr 2's ``zarr.core.Array`` (imported on first use, so
importing a single engine module does not pull in the whole engine).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Array"]


def __getattr__(name: str) -> Any:
    """``Array``, loaded from :mod:`zarrflow.core.array` on first access."""
    if name == "Array":
        from zarrflow.core.array import Array  # noqa: PLC0415 - same layer, lazy to avoid cycles

        return Array
    raise AttributeError(f"module 'zarrflow.core' has no attribute {name!r}")
