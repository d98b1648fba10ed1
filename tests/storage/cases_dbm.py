"""DBMStore in the shared store suite, over ``dbm.dumb`` (present everywhere, so
the case does not change with the machine's default dbm module)."""

from __future__ import annotations

import dbm.dumb

from tests.storage.cases import StoreCase
from zarrflow.storage.dbm import DBMStore


def _read_only(store: DBMStore) -> DBMStore:
    store.flush()  # dbm.dumb keeps its index in memory until synced
    return DBMStore(store.path, flag="r", open=dbm.dumb.open)


CASES = [
    StoreCase("dbm-dumb", make=lambda tmp: DBMStore(tmp / "store.db", open=dbm.dumb.open), read_only=_read_only),
]
