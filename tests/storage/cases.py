"""``StoreCase``: how the shared store suite builds, reopens and read-opens one store."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from zarrflow.storage import Store


def pickle_roundtrip(store: Store) -> Store:
    """Reopen by pickling: persistent stores rebuild from parameters, memory ones carry data."""
    return pickle.loads(pickle.dumps(store))


@dataclass(frozen=True)
class StoreCase:
    """How the conformance suite builds and reopens one kind of store."""

    id: str
    #: Build an empty, writeable store; gets a fresh temporary directory.
    make: Callable[[Path], Store]
    #: A read-only handle on the data of a given store (a copy is fine for memory stores).
    read_only: Callable[[Store], Store]
    #: Reopen a (closed) store, e.g. after a process restart.
    reopen: Callable[[Store], Store] = pickle_roundtrip
    #: Module an optional backend needs; the case is skipped when it is missing.
    requires: str | None = None
