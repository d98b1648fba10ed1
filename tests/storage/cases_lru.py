"""LRUStoreCache in the shared store suite, over a MemoryStore and a DirectoryStore."""

from __future__ import annotations

from tests.storage.cases import StoreCase
from zarrflow.storage import DirectoryStore, MemoryStore
from zarrflow.storage.lru import LRUStoreCache

CASES: list[StoreCase] = [
    StoreCase(
        "lru-memory",
        make=lambda tmp: LRUStoreCache(MemoryStore(), max_size=2**20),
        read_only=lambda s: LRUStoreCache(MemoryStore(s.store, read_only=True), max_size=2**20),  # type: ignore[attr-defined]
    ),
    StoreCase(
        "lru-directory",
        make=lambda tmp: LRUStoreCache(DirectoryStore(tmp / "store"), max_size=None),
        read_only=lambda s: LRUStoreCache(DirectoryStore(s.store.path, read_only=True), max_size=None),  # type: ignore[attr-defined]
    ),
]
