"""Store names of zarr 2 whose backends zarrflow cannot test here, so does not ship.

They exist so that ``from zarrflow.storage import MongoDBStore`` works; constructing
one raises :class:`NotImplementedError` saying why and what to use instead.
"""

from __future__ import annotations

from typing import Any, NoReturn

from zarrflow.storage.base import Store

__all__ = ["MongoDBStore"]


class _Unavailable(Store):
    """Base of the store names that refuse construction with ``_reason``."""

    _reason = ""

    def __init__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise NotImplementedError(f"zarrflow.storage.{type(self).__name__}: {self._reason}")

    def __getitem__(self, key: str) -> bytes:  # pragma: no cover - never constructed
        raise NotImplementedError(self._reason)

    __setitem__ = __delitem__ = __iter__ = __len__ = __getitem__  # type: ignore[assignment]


class MongoDBStore(_Unavailable):
    """zarr 2's MongoDB store: not provided (see ``_reason``)."""

    _reason = (
        "MongoDB is not supported: no MongoDB server can run in this project's tests, so "
        "the store is not shipped untested. Use any other store (e.g. RedisStore, SQLiteStore)."
    )
