"""MemoryStore: a thread-safe, in-process store.

One flat ``dict`` of key -> bytes behind a re-entrant lock, so threads of one
process (the Array's pool, the threaded Dask scheduler) can share it. It is not
persistent: pickling carries the data with it, as zarr 2's MemoryStore does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from zarrflow.errors import KeyBlockedError
from zarrflow.storage.base import Store, check_dimension_separator, direct_keys, ensure_bytes
from zarrflow.storage.paths import prefix_for

__all__ = ["MemoryStore"]


class MemoryStore(Store):
    """Keys and values in a flat dict in memory, guarded by a lock.

    ``data`` optionally seeds the store (any mapping of keys to bytes-like values,
    copied in). Two MemoryStores are equal when they hold the same items.
    """

    is_persistent = False
    supports_rename = True
    __hash__ = None  # type: ignore[assignment]  # equality is by content, like dict

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        dimension_separator: str | None = None,
        read_only: bool = False,
    ) -> None:
        self._lock = threading.RLock()
        self._data: dict[str, bytes] = {}
        self.dimension_separator = check_dimension_separator(dimension_separator)
        if data is not None:
            for key, value in data.items():
                self._data[self._normalize_key(key)] = ensure_bytes(value)
        self._dirs = _dirs_of(self._data)
        self._read_only = bool(read_only)

    # --- pickling: data travels with the store ---------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        """The items, mode and separator (the lock is recreated on unpickling)."""
        with self._lock:
            data = dict(self._data)
        return {"data": data, "read_only": self._read_only, "dimension_separator": self.dimension_separator}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`__getstate__`."""
        self._lock = threading.RLock()
        self._data = state["data"]
        self._dirs = _dirs_of(self._data)
        self._read_only = state["read_only"]
        self.dimension_separator = state["dimension_separator"]

    def __eq__(self, other: object) -> bool:
        """Equal to another MemoryStore holding the same items."""
        if not isinstance(other, Store):
            return NotImplemented
        if self is other:
            return True
        if type(other) is not type(self):
            return False
        with self._lock:
            mine = dict(self._data)
        return mine == other._data  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        """``<MemoryStore: N keys>``."""
        return f"<{type(self).__name__}: {len(self._data)} keys>"

    # --- mapping ------------------------------------------------------------------------

    def __getitem__(self, key: str) -> bytes:
        """The value at ``key``; KeyError when missing."""
        nkey = self._normalize_key(key)
        with self._lock:
            try:
                return self._data[nkey]
            except KeyError:
                raise KeyError(key) from None

    def __setitem__(self, key: str, value: Any) -> None:
        """Store a copy of ``value`` (any bytes-like object) as bytes."""
        nkey = self._normalize_key(key)
        self._check_writeable(nkey)
        data = ensure_bytes(value)
        with self._lock:
            self._check_blocked([nkey])
            self._make_room(nkey)
            self._data[nkey] = data

    # zarr 2's MemoryStore is a tree: a key cannot sit under a value, and a value
    # written where a "directory" of keys is replaces that directory.
    def _check_blocked(self, nkeys: list[str]) -> None:
        """KeyBlockedError (a KeyError) when a shorter key on a path holds a value
        (here or among ``nkeys``); checked for all before anything is written."""
        new = set(nkeys)
        for nkey in nkeys:
            parts = nkey.split("/")
            for i in range(1, len(parts)):
                parent = "/".join(parts[:i])
                if parent in self._data or parent in new:
                    raise KeyBlockedError(f"{self!r}: cannot write {nkey!r}: the key {parent!r} on its path "
                                          "holds a value")

    def _make_room(self, nkey: str) -> None:
        """Drop the keys below ``nkey`` (it is being written as a value) and remember the
        directories above it. ``_dirs`` may hold stale names: they only cost a scan."""
        if nkey in self._dirs:
            prefix = nkey + "/"
            for k in [k for k in self._data if k.startswith(prefix)]:
                del self._data[k]
            self._dirs.discard(nkey)
        parts = nkey.split("/")
        for i in range(1, len(parts)):
            self._dirs.add("/".join(parts[:i]))

    def __delitem__(self, key: str) -> None:
        """Delete ``key``; a prefix deletes everything under it (as zarr 2 did)."""
        nkey = self._normalize_key(key)
        self._check_writeable(nkey)
        with self._lock:
            if self._data.pop(nkey, None) is not None:
                return
            prefix = nkey + "/"
            doomed = [k for k in self._data if k.startswith(prefix)]
            if not doomed:
                raise KeyError(key)
            for k in doomed:
                del self._data[k]

    def _contains(self, nkey: str) -> bool:
        """True when ``key`` holds a value; keys that cannot exist give False."""
        return nkey in self._data

    def __iter__(self) -> Iterator[str]:
        """Keys in sorted order (a snapshot)."""
        with self._lock:
            keys = sorted(self._data)
        return iter(keys)

    def __len__(self) -> int:
        """Number of keys."""
        return len(self._data)

    def clear(self) -> None:
        """Remove every key."""
        self._check_writeable("")
        with self._lock:
            self._data.clear()

    # --- batches ------------------------------------------------------------------------

    def getitems(self, keys: Sequence[str], *, contexts: Mapping[str, Any] | None = None) -> dict[str, bytes]:
        """Values for ``keys`` (keyed as given), missing ones left out, under one lock."""
        nkeys = [(k, self._normalize_key(k)) for k in keys]
        with self._lock:
            data = self._data
            return {k: data[n] for k, n in nkeys if n in data}

    def setitems(self, items: Mapping[str, Any]) -> None:
        """Store many values at once; a bad key or value stores nothing."""
        checked = {self._normalize_key(k): ensure_bytes(v) for k, v in items.items()}
        if checked:
            self._check_writeable(next(iter(checked)))
        with self._lock:
            self._check_blocked(list(checked))
            for nkey, data in checked.items():
                self._make_room(nkey)
                self._data[nkey] = data

    def delitems(self, keys: Iterable[str]) -> None:
        """Delete many keys; missing ones are ignored."""
        nkeys = [self._normalize_key(k) for k in keys]
        if nkeys:
            self._check_writeable(nkeys[0])
        with self._lock:
            for k in nkeys:
                self._data.pop(k, None)

    # --- hierarchy ----------------------------------------------------------------------

    def keys_under(self, path: str = "") -> list[str]:
        """Every key under ``path``, recursively, sorted."""
        prefix = prefix_for(self._normalize_path(path))
        with self._lock:
            return sorted(k for k in self._data if k.startswith(prefix))

    def listdir(self, path: str = "") -> list[str]:
        """Sorted names of the direct children of ``path``."""
        prefix = prefix_for(self._normalize_path(path))
        n = len(prefix)
        with self._lock:
            return sorted({k[n:].split("/", 1)[0] for k in self._data if k.startswith(prefix)})

    def rmdir(self, path: str = "") -> None:
        """Remove every key under ``path``; ``''`` clears the store."""
        path = self._normalize_path(path)
        self._check_writeable(path)
        prefix = prefix_for(path)
        with self._lock:
            if not prefix:
                self._data.clear()
                return
            for k in [k for k in self._data if k.startswith(prefix)]:
                del self._data[k]

    def getsize(self, path: str = "", *, recursive: bool = False) -> int:
        """Bytes at key ``path``, else of the values directly under it (every value
        under it when ``recursive``), else 0 (zarr 2's count)."""
        path = self._normalize_path(path)
        prefix = prefix_for(path)
        with self._lock:
            if path in self._data:
                return len(self._data[path])
            keys = direct_keys([k for k in self._data if k.startswith(prefix)], path, recursive)
            return sum(len(self._data[k]) for k in keys)

    def rename(self, src_path: str, dst_path: str) -> None:
        """Move key ``src_path`` and everything under it to ``dst_path`` (overwriting)."""
        src, dst = self._rename_paths(src_path, dst_path)
        prefix = src + "/"
        with self._lock:
            moves = {k: dst + k[len(src) :] for k in self._data if k == src or k.startswith(prefix)}
            if not moves:
                raise KeyError(src_path)
            values = {new: self._data.pop(old) for old, new in moves.items()}
            self._data.update(values)
            self._dirs |= _dirs_of(values)


def _dirs_of(keys: Iterable[str]) -> set[str]:
    """Every "directory" above the given keys ('a/b/c' -> 'a', 'a/b')."""
    out: set[str] = set()
    for k in keys:
        parts = k.split("/")
        out.update("/".join(parts[:i]) for i in range(1, len(parts)))
    return out
