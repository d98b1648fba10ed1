"""A bounded cache of decoded chunks, for arrays read again and again.

Random point reads into big chunks decode the same chunk many times; zarr-python 2's
``LRUStoreCache`` keeps the *stored* bytes, so every read still decodes. An array
opened with ``chunk_cache=LRUChunkCache(max_size)`` keeps decoded chunks instead, up
to ``max_size`` bytes, evicting the least recently used. It is opt-in: memory is the
user's to spend.

Writes through an array holding the cache drop the chunks they touch (and resizes
drop everything), so that array always reads what it wrote. Writes by other array
objects or processes are not seen until :meth:`LRUChunkCache.invalidate`: use the
cache for data that does not change under you, as with ``LRUStoreCache``.

A read that started before a write to the same chunk never puts its (older) chunk
into the cache after the write dropped it: each entry carries a generation that
every invalidation moves on.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable

import numpy as np

__all__ = ["LRUChunkCache"]


class LRUChunkCache:
    """Decoded chunks, least recently used evicted first, at most ``max_size`` bytes
    (``None``: unbounded). Thread-safe; one cache may serve several arrays (entries
    are keyed by store, chunk key and decoded layout).

    Cached chunks are read-only arrays; readers copy out of them.
    """

    def __init__(self, max_size: int | None) -> None:
        if max_size is not None and (not isinstance(max_size, int) or max_size < 0):
            raise ValueError(f"max_size must be a number of bytes >= 0 or None, got {max_size!r}")
        self.max_size = max_size
        self._lock = threading.Lock()
        self._chunks: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._generation: dict[Hashable, int] = {}  # moved on by invalidations
        self._epoch = 0  # moved on by invalidate(): every generation is then stale
        self.current_size = 0
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        return (f"LRUChunkCache(max_size={self.max_size!r}) holding {len(self)} chunks, "
                f"{self.current_size} bytes; {self.hits} hits, {self.misses} misses")

    def __len__(self) -> int:
        """Number of chunks held."""
        return len(self._chunks)

    def __contains__(self, key: Hashable) -> bool:
        """Whether ``key`` is held (not counted as a hit or miss, not made recent)."""
        return key in self._chunks

    def get(self, key: Hashable) -> np.ndarray | None:
        """The cached chunk for ``key`` (made most recently used), or None."""
        with self._lock:
            chunk = self._chunks.get(key)
            if chunk is None:
                self.misses += 1
                return None
            self._chunks.move_to_end(key)
            self.hits += 1
            return chunk

    def token(self, key: Hashable) -> tuple[int, int]:
        """Taken before reading a chunk from the store; :meth:`put` with it stores the
        chunk only if no invalidation of ``key`` happened in between."""
        with self._lock:
            return (self._epoch, self._generation.get(key, 0))

    def put(self, key: Hashable, chunk: np.ndarray, token: tuple[int, int]) -> None:
        """Keep ``chunk`` (made read-only) unless it is larger than the whole cache or
        ``key`` was invalidated since ``token`` was taken."""
        nbytes = int(chunk.nbytes)
        with self._lock:
            if token != (self._epoch, self._generation.get(key, 0)):
                return
            if self.max_size is not None and nbytes > self.max_size:
                return
            old = self._chunks.pop(key, None)
            if old is not None:
                self.current_size -= int(old.nbytes)
            chunk.flags.writeable = False
            self._chunks[key] = chunk
            self.current_size += nbytes
            while self.max_size is not None and self.current_size > self.max_size:
                _, evicted = self._chunks.popitem(last=False)
                self.current_size -= int(evicted.nbytes)

    def invalidate_keys(self, keys: Iterable[Hashable]) -> None:
        """Drop the chunks for ``keys`` (and make reads in flight for them not cache)."""
        with self._lock:
            for key in keys:
                self._generation[key] = self._generation.get(key, 0) + 1
                old = self._chunks.pop(key, None)
                if old is not None:
                    self.current_size -= int(old.nbytes)

    def invalidate(self) -> None:
        """Drop every chunk (after writes by other arrays or processes)."""
        with self._lock:
            self._epoch += 1
            self._generation.clear()
            self._chunks.clear()
            self.current_size = 0
