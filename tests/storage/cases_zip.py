"""ZipStore in the shared store suite."""

from __future__ import annotations

from tests.storage.cases import StoreCase
from zarrflow.storage.zip import ZipStore


def _read_only(store: ZipStore) -> ZipStore:
    store.flush()  # write the central directory so another handle can read it
    return ZipStore(store.path, mode="r")


CASES = [
    StoreCase("zip", make=lambda tmp: ZipStore(tmp / "store.zip", mode="w"), read_only=_read_only),
]
