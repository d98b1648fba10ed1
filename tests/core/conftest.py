"""Fixtures shared by the Array-level tests: every kind of store an Array can sit on.

Tests parametrise over stores through ``array_store`` (one fresh store per test) or
``store_factory`` (a fresh store per call, for Hypothesis tests that need one per
example). ``snapshot(store)`` reads back every stored key and value, straight from
the backing dict or directory, so a test can check that a failed call wrote nothing.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, MutableMapping
from pathlib import Path

import pytest

from tests.core.interop_cases import World
from zarrflow.storage import DirectoryStore, KVStore, MemoryStore, NestedDirectoryStore

#: Ids of the stores every Array-level test runs over.
STORE_KINDS = ["memory", "kvstore", "dict", "directory", "nested-directory"]

#: Stores whose data lives on disk (pickles stay small; reopening sees the data).
PERSISTENT_KINDS = {"directory", "nested-directory"}


def make_store(kind: str, root: Path) -> MutableMapping:
    """A fresh, empty store of ``kind``; directory stores live at ``root``."""
    if kind == "memory":
        return MemoryStore()
    if kind == "kvstore":
        return KVStore(dict())
    if kind == "dict":
        return dict()
    if kind == "directory":
        return DirectoryStore(str(root))
    if kind == "nested-directory":
        return NestedDirectoryStore(str(root))
    raise ValueError(kind)


def snapshot(store: MutableMapping) -> dict[str, bytes]:
    """Every key and value held by ``store``, read from its backing data.

    Directory stores are read from the file system (every file, temporary ones
    included), so a stray write anywhere under the root shows up.
    """
    if isinstance(store, KVStore):
        return snapshot(store.mapping)
    if isinstance(store, DirectoryStore):
        out: dict[str, bytes] = {}
        if not os.path.isdir(store.path):
            return out
        for dirpath, _dirs, files in os.walk(store.path):
            for name in files:
                full = os.path.join(dirpath, name)
                key = os.path.relpath(full, store.path).replace(os.sep, "/")
                with open(full, "rb") as f:
                    out[key] = f.read()
        return out
    if isinstance(store, MemoryStore):
        return {k: store[k] for k in store}
    return {k: bytes(v) for k, v in store.items()}


def chunk_keys(store: MutableMapping, prefix: str = "") -> list[str]:
    """Sorted stored keys under ``prefix`` that are not metadata documents."""
    return sorted(
        k[len(prefix):] for k in snapshot(store)
        if k.startswith(prefix) and not k.rsplit("/", 1)[-1].startswith(".")
    )


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    """The id of the store kind under test."""
    return request.param


@pytest.fixture
def array_store(store_kind: str, tmp_path: Path) -> MutableMapping:
    """A fresh, empty store of each kind: MemoryStore, KVStore(dict), a plain dict,
    DirectoryStore and NestedDirectoryStore (under ``tmp_path``)."""
    return make_store(store_kind, tmp_path / "store")


@pytest.fixture
def store_factory(store_kind: str, tmp_path: Path) -> Callable[[], MutableMapping]:
    """``store_factory()``: a new, empty store of the kind under test on each call."""
    counter = itertools.count()
    return lambda: make_store(store_kind, tmp_path / f"store{next(counter)}")


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> World:
    """The interop case matrix written by zarrflow once per session (tests/core/interop_cases.py)."""
    w = World(tmp_path_factory.mktemp("interop"))
    w.write_all()
    return w
