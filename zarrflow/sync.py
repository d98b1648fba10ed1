"""zarr 2's ``zarr.sync``: synchronizers (re-exported from the engine)."""

from __future__ import annotations

from typing import Protocol

from zarrflow.core.sync import ProcessSynchronizer, ThreadSynchronizer

__all__ = ["ProcessSynchronizer", "Synchronizer", "ThreadSynchronizer"]


class Synchronizer(Protocol):
    """What a synchronizer provides: ``synchronizer[key]`` is a lock (a context manager)
    guarding the store key ``key``."""

    def __getitem__(self, item: str) -> object:
        """The lock for store key ``item``."""
        ...
