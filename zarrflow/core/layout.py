"""``ArrayLayout``: one frozen description of where an array's chunks live and how they
are named and encoded.

It is the seam between the user-facing :class:`~zarrflow.core.array.Array` and the
chunk-level machinery: ``core/chunk_io`` reads and writes through a layout, and the
Dask layer's tasks carry one instead of an ``Array`` (or its ``.zarray`` JSON). A
layout holds the parsed metadata, the codec pipeline built from it, the store (and
the separate chunk store, if any), the array's path, the synchronizer and the write
options. It pickles as its parts (the metadata dataclass and the stores, which
persistent stores pickle as their location) and rebuilds its codec pipeline where
it is unpickled, without any store read or JSON parse.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from numcodecs.abc import Codec

from zarrflow.core.chunks import chunk_key, chunk_key_pattern
from zarrflow.core.codecs import ChunkCodec
from zarrflow.format import ARRAY_META_KEY, ATTRS_KEY, ArrayMetadata, get_codec
from zarrflow.storage.base import Store
from zarrflow.storage.paths import prefix_for

__all__ = ["ArrayLayout"]


@dataclass(frozen=True, eq=False)
class ArrayLayout:
    """Where an array's chunks live, how their keys are spelled and how they are encoded.

    Build one with :meth:`build`; change it with :meth:`with_metadata` (new codecs) or
    :meth:`with_options` (synchronizer, write options). ``chunk_store`` is the store
    given for chunks (None when they live with the metadata); :attr:`data_store` is
    the store chunks are actually read from and written to.
    """

    metadata: ArrayMetadata
    store: Store
    path: str = ""
    chunk_store: Store | None = None
    synchronizer: Any = None
    write_empty_chunks: bool = True
    allow_pickle: bool = False
    compressor: Codec | None = field(default=None, repr=False)
    filters: list[Codec] | None = field(default=None, repr=False)
    codec: ChunkCodec | None = field(default=None, repr=False)
    #: decoded chunks kept for repeated reads (a :class:`~zarrflow.core.chunk_cache.LRUChunkCache`),
    #: or None; never pickled (a task gets its own, empty, nothing)
    chunk_cache: Any = field(default=None, repr=False)
    #: ``path + '/'`` (``''`` at the store root): what every key of the array starts with
    key_prefix: str = field(init=False, repr=False)
    #: what, besides the chunk key, tells decoded chunks of different arrays apart in a
    #: shared cache: the store, and the layout of decoded chunks
    cache_scope: tuple = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key_prefix", prefix_for(self.path))  # once, not per chunk key
        data_store = self.data_store
        ident = data_store._identity() if hasattr(data_store, "_identity") else None
        meta = self.metadata
        object.__setattr__(self, "cache_scope", (
            type(data_store).__name__, id(data_store) if ident is None else ident,
            meta.chunks, meta.dtype.str, meta.order, repr(meta.filters)))

    def cache_key(self, key: str) -> tuple:
        """The key of chunk ``key``'s decoded value in :attr:`chunk_cache`."""
        return (*self.cache_scope, key)

    @classmethod
    def build(cls, metadata: ArrayMetadata, store: Store, path: str = "", chunk_store: Store | None = None,
              synchronizer: Any = None, write_empty_chunks: bool = True,
              allow_pickle: bool = False, chunk_cache: Any = None) -> ArrayLayout:
        """The layout of the array at ``path`` in ``store`` described by ``metadata``,
        with its codec pipeline built (an unknown codec raises here, naming the key)."""
        meta_key = prefix_for(path) + ARRAY_META_KEY
        compressor = get_codec(metadata.compressor, key=meta_key)
        filters = [get_codec(f, key=meta_key) for f in metadata.filters or ()] or None
        name = f"array {'/' + path!r}" if path else "array at the store root"
        codec = ChunkCodec(metadata.dtype, metadata.chunks, metadata.order, compressor, filters,
                           allow_pickle=allow_pickle, name=name)
        return cls(metadata, store, path, chunk_store, synchronizer, write_empty_chunks, allow_pickle,
                   compressor, filters, codec, chunk_cache)

    def with_metadata(self, metadata: ArrayMetadata) -> ArrayLayout:
        """The same array described by new metadata (codecs rebuilt)."""
        return self.build(metadata, self.store, self.path, self.chunk_store, self.synchronizer,
                          self.write_empty_chunks, self.allow_pickle, self.chunk_cache)

    def with_options(self, **changes: Any) -> ArrayLayout:
        """A copy with ``synchronizer``, ``write_empty_chunks``, ``chunk_store`` or
        ``chunk_cache`` changed."""
        allowed = {"synchronizer", "write_empty_chunks", "chunk_store", "chunk_cache"}
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise TypeError(f"with_options() takes {sorted(allowed)}, got {unknown}")
        return dataclasses.replace(self, **changes)

    def __reduce__(self) -> tuple:
        # The parts, not the codec objects: the pipeline is rebuilt where it is unpickled.
        return (_build_layout, (self.metadata, self.store, self.path, self.chunk_store, self.synchronizer,
                                    self.write_empty_chunks, self.allow_pickle))

    # --- names -------------------------------------------------------------------------

    @property
    def meta_key(self) -> str:
        """The key of the array's ``.zarray`` document."""
        return self.key_prefix + ARRAY_META_KEY

    @property
    def attrs_key(self) -> str:
        """The key of the array's ``.zattrs`` document."""
        return self.key_prefix + ATTRS_KEY

    @property
    def data_store(self) -> Store:
        """The store chunks are read from and written to."""
        return self.chunk_store if self.chunk_store is not None else self.store

    def describe(self) -> str:
        """How error messages name the array."""
        return f"array {'/' + self.path!r}" if self.path else "array at the store root"

    def chunk_key(self, coords: tuple[int, ...]) -> str:
        """The full store key of the chunk at grid ``coords``."""
        return self.key_prefix + chunk_key(coords, self.metadata.separator)

    def chunk_coords(self, key: str) -> tuple[int, ...] | None:
        """Grid coordinates of the chunk stored at the full ``key``, or None when ``key``
        is not one of this array's chunk keys."""
        prefix = self.key_prefix
        if not key.startswith(prefix):
            return None
        parts = key[len(prefix):].split(self.metadata.separator)
        if len(parts) != max(len(self.metadata.shape), 1) or not all(p.isdigit() for p in parts):
            return None
        return tuple(int(p) for p in parts)

    # --- listing -----------------------------------------------------------------------

    def stored_chunk_keys(self) -> Iterator[str]:
        """Full keys of every stored chunk (walking the nested levels of '/' keys)."""
        store = self.data_store
        sep = self.metadata.separator
        ndim = max(len(self.metadata.shape), 1)
        prefix = self.key_prefix
        if sep == "." or ndim == 1:
            pattern = chunk_key_pattern(ndim, sep)
            for name in store.listdir(self.path):
                if pattern.match(name):
                    yield prefix + name
            return

        def walk(level: str, depth: int) -> Iterator[str]:
            for name in store.listdir(level.rstrip("/")):
                if name.isdigit():
                    yield from ((level + name,) if depth == ndim - 1 else walk(level + name + "/", depth + 1))

        yield from walk(prefix, 0)


def _build_layout(*args: Any) -> ArrayLayout:
    """Unpickling: :meth:`ArrayLayout.build` (a module-level name pickles shorter)."""
    return ArrayLayout.build(*args)
