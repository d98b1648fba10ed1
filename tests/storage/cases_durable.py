"""The local stores in durable mode in the shared store suite: every value fsynced
(and batches written with overlapping fsyncs), same behaviour otherwise."""

from __future__ import annotations

from tests.storage.cases import StoreCase
from zarrflow.storage import DirectoryStore, NestedDirectoryStore
from zarrflow.storage.fsstore import FSStore
from zarrflow.storage.n5 import N5Store

CASES: list[StoreCase] = [
    StoreCase(
        "directory-durable",
        make=lambda tmp: DirectoryStore(tmp / "store", durable=True),
        read_only=lambda s: DirectoryStore(s.path, read_only=True),  # type: ignore[attr-defined]
    ),
    StoreCase(
        "nested-directory-durable",
        make=lambda tmp: NestedDirectoryStore(tmp / "store", durable=True),
        read_only=lambda s: NestedDirectoryStore(s.path, read_only=True),  # type: ignore[attr-defined]
    ),
    StoreCase(
        "n5-durable",
        make=lambda tmp: N5Store(tmp / "store.n5", durable=True),
        read_only=lambda s: N5Store(s.path, read_only=True),  # type: ignore[attr-defined]
    ),
    StoreCase(
        "fsstore-local-durable",
        make=lambda tmp: FSStore(str(tmp / "store"), durable=True),
        read_only=lambda s: FSStore(s.url, mode="r"),  # type: ignore[attr-defined]
    ),
]
