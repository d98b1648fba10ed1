"""LRUStoreCache: an in-memory, least-recently-used cache in front of another store.

Meant for slow (remote) stores. Values are kept up to ``max_size`` bytes, the
least recently used dropped first; listings (``keys``, ``listdir``, ``in``) are
kept until something changes them. Writes and deletes go through to the store and
then update the cache, so a process sees its own writes; changes made by others
are seen after :meth:`~LRUStoreCache.invalidate`.

``getitems`` answers what it can from the cache and fetches the rest with one
batched ``getitems`` on the store, so wrapping a remote store keeps its one round
trip per batch. One re-entrant lock guards the cache; the store is never called
with the lock held, so a slow fetch does not block hits in other threads. A fetch
that overlaps a write is returned but not cached (it may be older than the write).

Pickling carries the store and ``max_size``, not the cached values.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any

from zarrflow.storage.base import Store, byte_view, capability, getitems_with_contexts, store_getsize
from zarrflow.storage.kvstore import as_store
from zarrflow.storage.paths import prefix_for

__all__ = ["LRUStoreCache"]


class LRUStoreCache(Store):
    """Cache values and listings of ``store`` in memory.

    ``store`` is any Store (a plain MutableMapping is wrapped in a KVStore);
    ``max_size`` bounds the cached values in bytes (``None``: unbounded; a value
    larger than ``max_size`` is never cached). ``hits`` and ``misses`` count value
    lookups answered from the cache and from the store.
    """

    def __init__(self, store: Store | MutableMapping[str, Any], max_size: int | None) -> None:
        store = as_store(store, what="the store LRUStoreCache wraps")
        if max_size is not None and (not isinstance(max_size, int) or isinstance(max_size, bool) or max_size < 0):
            raise ValueError(f"max_size must be None or a non-negative int of bytes, got {max_size!r}")
        self._store = store
        self._max_size = max_size
        self._init_cache()

    def _init_cache(self) -> None:
        self._mutex = threading.RLock()
        self._values_cache: OrderedDict[str, bytes] = OrderedDict()
        self._current_size = 0
        self._keys_cache: list[str] | None = None
        self._keys_set: frozenset[str] = frozenset()
        self._contains_cache: dict[str, bool] = {}
        self._listdir_cache: dict[str, list[str]] = {}
        #: Bumped by every write, delete and invalidation; a fetch that saw it change
        #: while it ran does not cache what it read.
        self._epoch = 0
        self.hits = 0
        self.misses = 0

    # --- the wrapped store and its capabilities -----------------------------------------

    @property
    def store(self) -> Store:
        """The store behind the cache."""
        return self._store

    @property
    def max_size(self) -> int | None:
        """The cache's bound on value bytes (None: unbounded)."""
        return self._max_size

    @property
    def current_size(self) -> int:
        """Bytes of values cached now."""
        return self._current_size

    def is_readable(self) -> bool:
        """As the wrapped store answers."""
        return capability(self._store, "is_readable")

    def is_writeable(self) -> bool:
        """As the wrapped store answers."""
        return capability(self._store, "is_writeable")

    def is_listable(self) -> bool:
        """As the wrapped store answers."""
        return capability(self._store, "is_listable")

    def is_erasable(self) -> bool:
        """As the wrapped store answers."""
        return capability(self._store, "is_erasable")

    @property
    def is_persistent(self) -> bool:  # type: ignore[override]
        return bool(self._store.is_persistent)

    @property
    def supports_multiprocess_writes(self) -> bool:  # type: ignore[override]
        return bool(self._store.supports_multiprocess_writes)

    @property
    def supports_concurrent_getitems(self) -> bool:  # type: ignore[override]
        return bool(self._store.supports_concurrent_getitems)

    @property
    def supports_rename(self) -> bool:  # type: ignore[override]
        return bool(self._store.supports_rename)

    @property
    def dimension_separator(self) -> str | None:  # type: ignore[override]
        return self._store.dimension_separator

    @property
    def read_only(self) -> bool:
        return bool(self._store.read_only)

    def _normalize_key(self, key: str) -> str:
        return self._store._normalize_key(key)

    def _normalize_path(self, path: str | bytes | None) -> str:
        return self._store._normalize_path(path)

    # --- identity and pickling -------------------------------------------------------------

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle the store and ``max_size``; the copy starts with an empty cache."""
        return (type(self), (self._store, self._max_size))

    def __eq__(self, other: object) -> bool:
        """Equal to another LRUStoreCache over an equal store with the same bound."""
        if not isinstance(other, Store):
            return NotImplemented
        if self is other:
            return True
        return (
            type(other) is type(self)
            and self._max_size == other._max_size  # type: ignore[attr-defined]
            and self._store == other._store  # type: ignore[attr-defined]
        )

    def __hash__(self) -> int:
        """Hash of the wrapped store (TypeError when that store is unhashable)."""
        return hash((type(self), self._store, self._max_size))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._store!r}, max_size={self._max_size!r})"

    # --- cache bookkeeping (call with the lock held) ----------------------------------------

    def _cache_value(self, nkey: str, value: bytes) -> None:
        """Cache ``value``, evicting least recently used values to make room."""
        self._drop_value(nkey)
        size = len(value)
        if self._max_size is not None:
            if size > self._max_size:
                return
            while self._values_cache and self._current_size + size > self._max_size:
                _, old = self._values_cache.popitem(last=False)
                self._current_size -= len(old)
        self._values_cache[nkey] = value
        self._current_size += size

    def _cache_written(self, nkey: str, value: Any) -> None:
        """Cache a copy of a value just written (copied only if it fits)."""
        view = byte_view(value)
        if self._max_size is None or len(view) <= self._max_size:
            self._cache_value(nkey, view if type(view) is bytes else bytes(view))
        else:
            self._drop_value(nkey)

    def _drop_value(self, nkey: str) -> None:
        old = self._values_cache.pop(nkey, None)
        if old is not None:
            self._current_size -= len(old)

    def _drop_values_under(self, path: str) -> None:
        """Forget the value at ``path`` and every value under it ('' forgets all)."""
        if not path:
            self._values_cache.clear()
            self._current_size = 0
            return
        self._drop_value(path)
        prefix = path + "/"
        for k in [k for k in self._values_cache if k.startswith(prefix)]:
            self._drop_value(k)

    def _forget_keys(self) -> None:
        self._keys_cache = None
        self._keys_set = frozenset()
        self._contains_cache.clear()
        self._listdir_cache.clear()

    def _changed(self, path: str) -> None:
        """After anything that may have removed or moved keys at or under ``path``."""
        self._epoch += 1
        self._drop_values_under(path)
        self._forget_keys()

    # --- invalidation ------------------------------------------------------------------------

    def invalidate(self) -> None:
        """Forget everything cached: values and listings."""
        with self._mutex:
            self._epoch += 1
            self._values_cache.clear()
            self._current_size = 0
            self._forget_keys()

    def invalidate_values(self) -> None:
        """Forget the cached values (listings are kept)."""
        with self._mutex:
            self._epoch += 1
            self._values_cache.clear()
            self._current_size = 0

    def invalidate_keys(self) -> None:
        """Forget the cached listings: keys, ``listdir`` results and ``in`` answers."""
        with self._mutex:
            self._epoch += 1
            self._forget_keys()

    # --- mapping -------------------------------------------------------------------------------

    def __getitem__(self, key: str) -> bytes:
        """The value at ``key``, from the cache if there, else from the store (then cached)."""
        nkey = self._normalize_key(key)
        with self._mutex:
            value = self._values_cache.get(nkey)
            if value is not None:
                self._values_cache.move_to_end(nkey)
                self.hits += 1
                return value
            self.misses += 1
            epoch = self._epoch
        value = self._store[key]
        with self._mutex:
            if self._epoch == epoch:
                self._cache_value(nkey, value)
                self._contains_cache[nkey] = True
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        """Write through to the store, then cache the value."""
        nkey = self._normalize_key(key)
        self._store[key] = value
        with self._mutex:
            self._epoch += 1
            if self._contains_cache.get(nkey) is not True:  # a new key: listings change
                self._forget_keys()
                self._contains_cache[nkey] = True
            self._cache_written(nkey, value)

    def __delitem__(self, key: str) -> None:
        """Delete through to the store, then forget what was cached at and under ``key``."""
        nkey = self._normalize_key(key)
        try:
            del self._store[key]
        finally:
            with self._mutex:
                self._changed(nkey)

    def _contains(self, nkey: str) -> bool:
        """Whether ``key`` holds a value: asked of the store once per key, then
        answered from the cache (zarr 2's rule; a cached value also answers)."""
        with self._mutex:
            known = self._contains_cache.get(nkey)
            if known is not None:
                return known
            if nkey in self._values_cache:
                return True
            epoch = self._epoch
        found = nkey in self._store
        with self._mutex:
            if self._epoch == epoch:
                self._contains_cache[nkey] = found
        return found

    def _keys(self) -> list[str]:
        """The store's keys, sorted, listed once until something changes them."""
        with self._mutex:
            if self._keys_cache is not None:
                return self._keys_cache
            epoch = self._epoch
        keys = sorted(self._store.keys())  # keys(), as zarr 2's cache asks
        with self._mutex:
            if self._epoch == epoch:
                self._keys_cache = keys
                self._keys_set = frozenset(keys)
        return keys

    def __iter__(self) -> Iterator[str]:
        """Keys, sorted (cached listing)."""
        return iter(self._keys())

    def __len__(self) -> int:
        """Number of keys (cached listing)."""
        return len(self._keys())

    def clear(self) -> None:
        """Clear the store and the cache."""
        try:
            self._store.clear()
        finally:
            self.invalidate()

    # --- batches -----------------------------------------------------------------------------------

    def getitems(self, keys: Sequence[str], *, contexts: Mapping[str, Any] | None = None) -> dict[str, bytes]:
        """Cached values, plus the rest fetched with one ``getitems`` on the store."""
        keyed = [(k, self._normalize_key(k)) for k in keys]
        out: dict[str, bytes] = {}
        todo: list[tuple[str, str]] = []
        with self._mutex:
            cache = self._values_cache
            for k, n in keyed:
                value = cache.get(n)
                if value is None:
                    todo.append((k, n))
                else:
                    cache.move_to_end(n)
                    out[k] = value
            self.hits += len(keyed) - len(todo)
            self.misses += len(todo)
            epoch = self._epoch
        if not todo:
            return out
        wanted = [k for k, _ in todo]
        fetched = getitems_with_contexts(self._store, wanted)
        with self._mutex:
            keep = self._epoch == epoch
            for k, n in todo:
                value = fetched.get(k)
                if value is not None:
                    out[k] = value
                    if keep:
                        self._cache_value(n, value)
                        self._contains_cache[n] = True
        return out

    def setitems(self, items: Mapping[str, Any]) -> None:
        """Write many values through to the store, then cache them."""
        if not items:
            return
        self._store.setitems(items)
        with self._mutex:
            self._epoch += 1
            for key, value in items.items():
                nkey = self._normalize_key(key)
                if self._contains_cache.get(nkey) is not True:
                    self._forget_keys()
                    self._contains_cache[nkey] = True
                self._cache_written(nkey, value)

    def delitems(self, keys: Iterable[str]) -> None:
        """Delete many keys through to the store, then forget them."""
        keys = list(keys)
        nkeys = [self._normalize_key(k) for k in keys]
        if not nkeys:
            return
        try:
            self._store.delitems(keys)
        finally:
            with self._mutex:
                self._epoch += 1
                for n in nkeys:
                    self._drop_value(n)
                self._forget_keys()

    # --- hierarchy -------------------------------------------------------------------------------------

    def keys_under(self, path: str = "") -> list[str]:
        """Every key under ``path``, sorted, from the cached listing."""
        prefix = prefix_for(self._normalize_path(path))
        return [k for k in self._keys() if k.startswith(prefix)]

    def listdir(self, path: str = "") -> list[str]:
        """Children of ``path``, listed once until something changes them."""
        npath = self._normalize_path(path)
        with self._mutex:
            listing = self._listdir_cache.get(npath)
            if listing is not None:
                return list(listing)
            epoch = self._epoch
        listing = self._store.listdir(npath)
        with self._mutex:
            if self._epoch == epoch:
                self._listdir_cache[npath] = list(listing)
        return listing

    def rmdir(self, path: str = "") -> None:
        """Remove ``path`` from the store, then forget it here."""
        npath = self._normalize_path(path)
        try:
            self._store.rmdir(npath)
        finally:
            with self._mutex:
                self._changed(npath)

    def getsize(self, path: str = "", *, recursive: bool = False) -> int:
        """Sizes come from the store (not cached)."""
        return store_getsize(self._store, path, recursive)

    def rename(self, src_path: str, dst_path: str) -> None:
        """Rename in the store, then forget source and destination here."""
        src = self._normalize_path(src_path)
        dst = self._normalize_path(dst_path)
        try:
            self._store.rename(src_path, dst_path)
        finally:
            with self._mutex:
                self._changed(src)
                self._changed(dst)

    # --- lifecycle ------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the store and drop the cache."""
        try:
            self._store.close()
        finally:
            self.invalidate()
