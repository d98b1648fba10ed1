"""N5Store in the shared store suite: for keys that are not Zarr documents of an N5
node it behaves as a DirectoryStore (the suite's metadata values are not Zarr
documents, so they are kept verbatim)."""

from __future__ import annotations

from tests.storage.cases import StoreCase
from zarrflow.storage.n5 import N5Store

CASES: list[StoreCase] = [
    StoreCase(
        "n5",
        make=lambda tmp: N5Store(tmp / "store.n5"),
        read_only=lambda s: N5Store(s.path, read_only=True),  # type: ignore[attr-defined]
    ),
]
