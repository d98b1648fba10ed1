"""The store registry every store test runs over.

To put a new store through the shared conformance suite, add a module
``tests/storage/cases_<store>.py`` defining ``CASES: list[StoreCase]`` (see
``tests/storage/cases.py``): how to build an empty store in a temporary directory,
how to reopen it (persistence), how to open a read-only handle on the same data, and,
for optional backends, the module it needs (the case is skipped without it). The
built-in stores are registered below.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import tests.storage
from tests.storage.cases import StoreCase, pickle_roundtrip  # noqa: F401 - re-exported for store tests
from zarrflow.storage import (
    DirectoryStore,
    KVStore,
    MemoryStore,
    NestedDirectoryStore,
    Store,
)


def _plugged_cases() -> list[StoreCase]:
    found: list[StoreCase] = []
    for info in sorted(pkgutil.iter_modules(tests.storage.__path__), key=lambda m: m.name):
        if info.name.startswith("cases_"):
            found.extend(importlib.import_module(f"tests.storage.{info.name}").CASES)
    return found


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
] + _plugged_cases()


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
