"""LMDBStore in the shared store suite (skipped without the ``lmdb`` package)."""

from __future__ import annotations

from tests.storage.cases import StoreCase
from zarrflow.storage.lmdb import LMDBStore

CASES = [
    StoreCase(
        "lmdb",
        make=lambda tmp: LMDBStore(tmp / "store.lmdb"),
        read_only=lambda s: LMDBStore(s.path, readonly=True),  # type: ignore[attr-defined]
        requires="lmdb",
    ),
]
