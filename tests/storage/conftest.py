"""The store registry every store test runs over.

To put a new store through the shared conformance suite, add ONE ``StoreCase`` to
``STORE_CASES``: how to build an empty store in a temporary directory, how to
reopen it (persistence), how to open a read-only handle on the same data, and,
for optional backends, the module it needs (the case is skipped without it).
"""

from __future__ import annotations

import importlib.util
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from zarrflow.storage import DirectoryStore, KVStore, MemoryStore, NestedDirectoryStore, Store


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


STORE_CASES: list[StoreCase] = [
    StoreCase(
        "memory",
        make=lambda tmp: MemoryStore(),
        read_only=lambda s: MemoryStore(s, read_only=True),
    ),
    StoreCase(
        "kv-dict",
        make=lambda tmp: KVStore(dict()),
        read_only=lambda s: KVStore(s.mapping, read_only=True),  # type: ignore[attr-defined]
    ),
    StoreCase(
        "directory",
        make=lambda tmp: DirectoryStore(tmp / "store"),
        read_only=lambda s: DirectoryStore(s.path, read_only=True),  # type: ignore[attr-defined]
    ),
    StoreCase(
        "nested-directory",
        make=lambda tmp: NestedDirectoryStore(tmp / "store"),
        read_only=lambda s: NestedDirectoryStore(s.path, read_only=True),  # type: ignore[attr-defined]
    ),
]


@pytest.fixture(params=STORE_CASES, ids=lambda case: case.id)
def store_case(request: pytest.FixtureRequest) -> StoreCase:
    """The StoreCase under test (skipped when its optional backend is missing)."""
    case: StoreCase = request.param
    if case.requires and importlib.util.find_spec(case.requires) is None:
        pytest.skip(f"{case.id} needs {case.requires}")
    return case


@pytest.fixture
def store(store_case: StoreCase, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty, writeable store of each registered kind; closed afterwards."""
    s = store_case.make(tmp_path)
    yield s
    s.close()


@pytest.fixture
def reopen(store_case: StoreCase) -> Callable[[Store], Store]:
    """``reopen(store)``: the same store reopened (persistence checks)."""
    return store_case.reopen


@pytest.fixture
def read_only(store_case: StoreCase) -> Callable[[Store], Store]:
    """``read_only(store)``: a read-only handle on the store's data."""
    return store_case.read_only
