"""SQLiteStore in the shared store suite."""

from __future__ import annotations

from tests.storage.cases import StoreCase
from zarrflow.storage.sqlite import SQLiteStore

CASES = [
    StoreCase(
        "sqlite",
        make=lambda tmp: SQLiteStore(tmp / "store.sqldb"),
        read_only=lambda s: SQLiteStore(s.path, read_only=True),  # type: ignore[attr-defined]
    ),
]
