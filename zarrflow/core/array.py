"""``Array``: a chunked, compressed N-dimensional array in a store.

This module owns the user-facing API of zarr-python 2.x. What the chunk-level
machinery needs (metadata, codecs, store, key naming, synchronizer) is one frozen
:class:`~zarrflow.core.layout.ArrayLayout` the array rebuilds whenever its metadata
changes; selections are projected onto chunks by ``core/indexing`` and moved by
``core/chunk_io``, which sees only the layout.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import math
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from numcodecs import AsType

from zarrflow.core import chunk_io
from zarrflow.core.attrs import Attributes
from zarrflow.core.chunks import grid_shape, normalize_shape
from zarrflow.core.index_views import BlockIndex, OIndex, VIndex
from zarrflow.core.indexing import (
    BasicIndexer,
    BlockIndexer,
    CoordinateIndexer,
    MaskIndexer,
    OrthogonalIndexer,
    check_fields,
    is_pure_fancy_indexing,
    is_pure_orthogonal_indexing,
    pop_fields,
)
from zarrflow.core.info import InfoReporter, bytes_with_size, type_name
from zarrflow.core.layout import ArrayLayout
from zarrflow.core.node import Node
from zarrflow.core.normalize import normalize_fill_value
from zarrflow.core.sync import hold
from zarrflow.errors import (
    ArrayNotFoundError,
    BoundsCheckError,
    ReadOnlyError,
    SynchronizerError,
)
from zarrflow.format import ARRAY_META_KEY, ATTRS_KEY, ArrayMetadata
from zarrflow.storage import normalize_storage_path
from zarrflow.storage.base import Store, batches_getitems, getitems_with_contexts, store_getsize
from zarrflow.storage.kvstore import KVStore, as_store

#: Why ``partial_decompress=True`` changes nothing (see :class:`Array`).
PARTIAL_DECOMPRESS_IGNORED = (
    "partial_decompress=True has no effect: zarrflow always reads only the Blosc blocks (or the "
    "parts of uncompressed chunks) that a small selection needs"
)


class Array(Node):
    """A Zarr v2 array: NumPy-style reads and writes, chunk by chunk, through a store.

    Parameters mirror zarr-python 2.x: ``store`` (any MutableMapping), ``path`` within
    it, ``read_only``, ``chunk_store`` (chunks elsewhere than metadata),
    ``synchronizer`` (locks for concurrent writers), ``cache_metadata`` (re-read
    ``.zarray`` before each operation when False), ``cache_attrs``,
    ``write_empty_chunks`` (False: chunks equal to the fill value are not stored) and
    ``allow_pickle`` (permit decoding with the Pickle codec; see ``core/codecs``).
    ``partial_decompress`` is accepted for zarr 2 code but has no effect, with a
    UserWarning saying so: zarrflow always reads only the Blosc blocks (or streams,
    or pieces of uncompressed chunks) that a small selection needs (``core/partial_read``).
    ``chunk_cache``: an :class:`~zarrflow.core.chunk_cache.LRUChunkCache` that keeps
    decoded chunks for repeated reads (opt-in; chunks are then decoded whole once).
    ``metadata``: the ``.zarray`` document (bytes, or a parsed
    :class:`~zarrflow.format.ArrayMetadata`) to use instead of reading it from the store.
    """

    def __init__(
        self,
        store: Any,
        path: str | None = None,
        read_only: bool = False,
        chunk_store: Any = None,
        synchronizer: Any = None,
        cache_metadata: bool = True,
        cache_attrs: bool = True,
        partial_decompress: bool = False,
        write_empty_chunks: bool = True,
        zarr_version: int | None = None,
        meta_array: Any = None,
        *,
        allow_pickle: bool = False,
        metadata: bytes | ArrayMetadata | None = None,
        chunk_cache: Any = None,
    ):
        if zarr_version not in (None, 2):
            raise ValueError(f"zarrflow implements Zarr format 2, got zarr_version={zarr_version!r}")
        self._store = as_store(store)
        self._chunk_store = None if chunk_store is None else as_store(chunk_store)
        self._path = normalize_storage_path(path)
        self._key_prefix = self._path + "/" if self._path else ""
        self._read_only = bool(read_only)
        self._synchronizer = synchronizer
        self._cache_metadata = cache_metadata
        self._partial_decompress = partial_decompress
        if partial_decompress:
            warnings.warn(PARTIAL_DECOMPRESS_IGNORED, UserWarning, stacklevel=2)
        self._write_empty_chunks = write_empty_chunks
        self._allow_pickle = allow_pickle
        self._chunk_cache = chunk_cache
        self._meta_array = np.empty(()) if meta_array is None else meta_array
        self._meta_key = self._key_prefix + ARRAY_META_KEY
        if metadata is None:
            self._load_metadata()
        elif isinstance(metadata, ArrayMetadata):  # known already: no store read
            self._set_metadata(metadata)
        else:
            self._set_metadata(ArrayMetadata.from_json(metadata, key=self._meta_key))
        self._attrs = Attributes(self._store, key=self._key_prefix + ATTRS_KEY, read_only=read_only,
                                 cache=cache_attrs, synchronizer=synchronizer)

    # --- metadata --------------------------------------------------------------------

    def _load_metadata(self) -> None:
        try:
            data = self._store[self._meta_key]
        except KeyError:
            raise ArrayNotFoundError(self._path) from None
        self._set_metadata(ArrayMetadata.from_json(data, key=self._meta_key))

    @classmethod
    def from_layout(cls, layout: ArrayLayout, read_only: bool = False) -> Array:
        """The array a layout describes, opened without reading the store (the Dask
        layer's tasks and other code that carries layouts use this)."""
        return cls(layout.store, path=layout.path, read_only=read_only, chunk_store=layout.chunk_store,
                   synchronizer=layout.synchronizer, write_empty_chunks=layout.write_empty_chunks,
                   allow_pickle=layout.allow_pickle, metadata=layout.metadata)

    def _set_metadata(self, meta: ArrayMetadata) -> None:
        self._layout = ArrayLayout.build(meta, self._store, self._path, self._chunk_store, self._synchronizer,
                                         self._write_empty_chunks, self._allow_pickle, self._chunk_cache)
        self._meta = meta

    def _chunk_key(self, chunk_coords: tuple[int, ...]) -> str:
        """zarr 2's private spelling of ``layout.chunk_key`` (its test suite and some user
        code call it)."""
        return self._layout.chunk_key(tuple(chunk_coords))

    @property
    def layout(self) -> ArrayLayout:
        """The frozen description of this array's chunks (metadata, codecs, store, key
        naming, synchronizer) that chunk I/O and the Dask layer work from."""
        return self._layout

    def _describe(self) -> str:
        return self._layout.describe() if hasattr(self, "_layout") else (
            f"array {self.name!r}" if self._path else "array at the store root")

    def _refresh_metadata(self) -> None:
        if not self._cache_metadata:
            self._load_metadata()

    def _write_metadata(self, meta: ArrayMetadata) -> None:
        if self._read_only:
            raise ReadOnlyError(f"{self._describe()} is read-only")
        if getattr(self._store, "metadata_read_only", False):
            raise ReadOnlyError(
                f"the metadata of {self._describe()} is read-only (opened from consolidated metadata)"
            )
        self._store[self._meta_key] = meta.to_json()
        if self._chunk_cache is not None:  # a resize may have deleted chunks the cache holds
            self._chunk_cache.invalidate()
        self._set_metadata(meta)

    # --- properties ------------------------------------------------------------------

    @property
    def name(self) -> str | None:
        """The h5py-style name: '/' + path, or None at the store root."""
        return "/" + self._path if self._path else None

    @property
    def basename(self) -> str | None:
        """The last component of ``name``."""
        return self.name.split("/")[-1] if self.name else None

    @property
    def read_only(self) -> bool:
        """True when writes are refused."""
        return self._read_only

    @read_only.setter
    def read_only(self, value: bool) -> None:
        self._read_only = bool(value)
        self._attrs.read_only = bool(value)

    @property
    def shape(self) -> tuple[int, ...]:
        """The array's shape; assigning to it resizes the array."""
        self._refresh_metadata()
        return self._meta.shape

    @shape.setter
    def shape(self, value: Any) -> None:
        self.resize(value)

    @property
    def chunks(self) -> tuple[int, ...]:
        """The chunk shape."""
        return self._meta.chunks

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the items."""
        return self._meta.dtype

    @property
    def compressor(self) -> Any:
        """The numcodecs compressor, or None."""
        return self._layout.compressor

    @property
    def filters(self) -> list | None:
        """The numcodecs filters applied before compression (object codec first), or None."""
        return self._layout.filters

    @property
    def fill_value(self) -> Any:
        """The value of items never written."""
        return self._meta.fill_value

    @fill_value.setter
    def fill_value(self, value: Any) -> None:
        self._write_metadata(self._meta.replace(fill_value=normalize_fill_value(value, self.dtype)))

    @property
    def order(self) -> str:
        """Memory layout of items within each chunk: 'C' or 'F'."""
        return self._meta.order

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """Number of items."""
        return math.prod(self.shape)

    @property
    def itemsize(self) -> int:
        """Bytes per item."""
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        """Bytes the array would take uncompressed."""
        return self.size * self.itemsize

    @property
    def nbytes_stored(self) -> int:
        """Bytes stored for this array: metadata, attributes and chunks."""
        n = store_getsize(self._store, self._path, recursive=True)
        if self._chunk_store is not None:
            m = store_getsize(self._chunk_store, self._path, recursive=True)
            n = -1 if n < 0 or m < 0 else n + m
        return n

    def digest(self, hashname: str = "sha1") -> bytes:
        """A digest (``hashlib`` algorithm ``hashname``) of the stored chunks in grid
        order, then the ``.zarray`` and ``.zattrs`` documents; equal to zarr 2's for
        the same stored bytes."""
        h = hashlib.new(hashname)
        prefix = self._key_prefix
        chunk_store = self._store if self._chunk_store is None else self._chunk_store
        keys = [self._layout.chunk_key(c) for c in itertools.product(*(range(n) for n in self.cdata_shape))]
        for start in range(0, len(keys), 1024):
            batch = keys[start:start + 1024]
            found = getitems_with_contexts(chunk_store, batch)
            for key in batch:
                h.update(found.get(key, b""))
        for key in (prefix + ARRAY_META_KEY, prefix + ATTRS_KEY):
            try:
                h.update(self._store[key])
            except KeyError:
                pass
        return h.digest()

    def hexdigest(self, hashname: str = "sha1") -> str:
        """:meth:`digest` as a string of hexadecimal digits."""
        return self.digest(hashname).hex()

    @property
    def cdata_shape(self) -> tuple[int, ...]:
        """Number of chunks along each axis."""
        shape = self.shape
        return grid_shape(shape, self.chunks) if shape else (1,)

    @property
    def nchunks(self) -> int:
        """Total number of chunks in the grid."""
        return math.prod(self.cdata_shape)

    @property
    def nchunks_initialized(self) -> int:
        """Number of chunks holding stored data."""
        return sum(1 for _ in self._layout.stored_chunk_keys())

    initialized = nchunks_initialized

    def astype(self, dtype: Any) -> Array:
        """A read-only view of this array that reads as ``dtype`` (zarr 2's ``astype``):
        an ``AsType`` filter decodes the stored items, nothing in the store changes."""
        dtype = np.dtype(dtype)
        meta = self._meta
        astype = AsType(encode_dtype=meta.dtype, decode_dtype=dtype).get_config()
        fill = meta.fill_value
        if fill is not None:
            fill = np.asarray(fill, dtype=meta.dtype).astype(dtype)[()]
        view = dataclasses.replace(meta, dtype=dtype, fill_value=fill, filters=(astype, *(meta.filters or ())))
        return Array(self._store, path=self._path, read_only=True, chunk_store=self._chunk_store,
                     synchronizer=self._synchronizer, cache_metadata=True, allow_pickle=self._allow_pickle,
                     meta_array=self._meta_array, metadata=view)

    @property
    def meta_array(self) -> Any:
        """The array-like whose type selections are returned as (zarr 2's
        ``meta_array``; a 0-d NumPy array by default)."""
        return self._meta_array

    @property
    def _dimension_separator(self) -> str:
        """zarr 2's private name of the chunk-key separator ('.' or '/')."""
        return self._meta.separator

    @property
    def is_view(self) -> bool:
        """Always False: zarrflow arrays are not views."""
        return False

    @property
    def write_empty_chunks(self) -> bool:
        """Whether chunks equal to the fill value are stored (True) or dropped (False)."""
        return self._write_empty_chunks

    @property
    def oindex(self) -> OIndex:
        """Orthogonal indexing: ``z.oindex[rows, cols]``."""
        return OIndex(self)

    @property
    def vindex(self) -> VIndex:
        """Vectorised (coordinate or mask) indexing: ``z.vindex[ix, iy]``."""
        return VIndex(self)

    @property
    def blocks(self) -> BlockIndex:
        """Indexing in units of chunks: ``z.blocks[0, 1:3]``."""
        return BlockIndex(self)

    @property
    def info(self) -> InfoReporter:
        """A report of the array's configuration and storage (zarr 2's layout)."""
        return InfoReporter(self.info_items)

    def info_items(self) -> list[tuple[str, str]]:
        """The rows of :attr:`info`."""
        items: list[tuple[str, str]] = []
        if self.name is not None:
            items.append(("Name", self.name))
        items += [
            ("Type", f"{type(self).__module__}.{type(self).__name__}"),
            ("Data type", str(self.dtype)),
            ("Shape", str(self.shape)),
            ("Chunk shape", str(self.chunks)),
            ("Order", self.order),
            ("Read-only", str(self.read_only)),
        ]
        for i, f in enumerate(self.filters or ()):
            items.append((f"Filter [{i}]", repr(f)))
        items.append(("Compressor", repr(self.compressor)))
        if self._synchronizer is not None:
            items.append(("Synchronizer type", type_name(self._synchronizer)))
        items.append(("Store type", _store_type_name(self._store)))
        if self._chunk_store is not None:
            items.append(("Chunk store type", _store_type_name(self._chunk_store)))
        nbytes, stored = self.nbytes, self.nbytes_stored
        items.append(("No. bytes", bytes_with_size(nbytes)))
        if stored > 0:
            items.append(("No. bytes stored", bytes_with_size(stored)))
            items.append(("Storage ratio", f"{nbytes / stored:.1f}"))
        items.append(("Chunks initialized", f"{self.nchunks_initialized}/{self.nchunks}"))
        return items

    # --- reading ---------------------------------------------------------------------

    def __getitem__(self, selection: Any) -> Any:
        """NumPy-style read: basic, orthogonal (``oindex``-style) or fancy selections."""
        if self._reads_items and _is_item(selection, self.ndim):
            return self._read_item(selection if type(selection) is tuple else (selection,))
        fields, pure = pop_fields(selection)
        if is_pure_fancy_indexing(pure, self.ndim):
            return self.vindex[selection]
        if is_pure_orthogonal_indexing(pure, self.ndim):
            return self.get_orthogonal_selection(pure, fields=fields)
        return self.get_basic_selection(pure, fields=fields)

    @property
    def _reads_items(self) -> bool:
        """True when ``z[i, j, ...]`` may take the one-item path (plain dtype, NumPy
        results, a store read key by key)."""
        return (self.dtype.kind != "O" and type(self._meta_array) is np.ndarray
                and not batches_getitems(self._layout.data_store))

    def _read_item(self, selection: tuple) -> Any:
        """``z[i, j, ...]`` with one integer per axis: no indexer, one chunk, and only
        the block of it that holds the item when the codec allows."""
        self._refresh_metadata()
        coords, within = [], []
        for axis, (i, n, c) in enumerate(zip(selection, self.shape, self.chunks)):
            j = int(i)
            j = j + n if j < 0 else j
            if not 0 <= j < n:
                raise BoundsCheckError(n, int(i), axis)
            q, r = divmod(j, c)
            coords.append(q)
            within.append(r)
        return chunk_io.read_item(self._layout, tuple(coords), tuple(within))

    def get_basic_selection(self, selection: Any = Ellipsis, out: np.ndarray | None = None,
                            fields: Any = None) -> Any:
        """Read ints, slices (step >= 1) and Ellipsis, as NumPy does."""
        self._refresh_metadata()
        indexer = BasicIndexer(selection, self.shape, self.chunks)
        if self.ndim == 0 and out is None and _has_ellipsis(selection):
            # z[...] of a 0-d array is a 0-d ndarray of the array's dtype, not a scalar
            out = np.empty((), dtype=check_fields(fields, self.dtype))
            chunk_io.read(self._layout, indexer, out=out, fields=fields)
            return out
        return self._read(indexer, out, fields)

    def _read(self, indexer: Any, out: Any, fields: Any) -> Any:
        if out is not None and not isinstance(out, np.ndarray):
            # zarr 2 also writes into any array-like with a shape and item assignment
            # (another zarr array, an h5py dataset)
            if not (hasattr(out, "shape") and hasattr(out, "__setitem__")) or isinstance(out, (list, dict)):
                raise TypeError(f"out must be a NumPy array or an array-like with shape and item assignment, "
                                f"got {type(out).__name__}")
            if tuple(out.shape) != tuple(indexer.shape):
                raise ValueError(f"out has shape {tuple(out.shape)}, the selection has shape {tuple(indexer.shape)}")
            out[...] = chunk_io.read(self._layout, indexer, fields=fields, meta_array=self._meta_array)
            return out
        if out is None and type(self._meta_array) is not np.ndarray:
            # zarr 2's meta_array: results are of the meta array's type (a NumPy subclass,
            # or any array type whose empty_like accepts shape/dtype/order)
            out = np.empty_like(self._meta_array, shape=indexer.shape, dtype=check_fields(fields, self.dtype),
                                order=self.order)
        return chunk_io.read(self._layout, indexer, out=out, fields=fields, meta_array=self._meta_array)

    def get_orthogonal_selection(self, selection: Any, out: np.ndarray | None = None,
                                 fields: Any = None) -> Any:
        """Read an independent selection per axis (ints, slices, int or bool arrays)."""
        self._refresh_metadata()
        return self._read(OrthogonalIndexer(selection, self.shape, self.chunks), out, fields)

    def get_coordinate_selection(self, selection: Any, out: np.ndarray | None = None,
                                 fields: Any = None) -> Any:
        """Read the points given by one integer array per axis."""
        self._refresh_metadata()
        return self._read(CoordinateIndexer(selection, self.shape, self.chunks), out, fields)

    def get_mask_selection(self, selection: Any, out: np.ndarray | None = None, fields: Any = None) -> Any:
        """Read the items where a Boolean mask of the array's shape is True."""
        self._refresh_metadata()
        return self._read(MaskIndexer(selection, self.shape, self.chunks), out, fields)

    def get_block_selection(self, selection: Any, out: np.ndarray | None = None, fields: Any = None) -> Any:
        """Read whole chunks, selected by chunk-grid indices."""
        self._refresh_metadata()
        return self._read(BlockIndexer(selection, self.shape, self.chunks), out, fields)

    # --- writing ---------------------------------------------------------------------

    def __setitem__(self, selection: Any, value: Any) -> None:
        """NumPy-style write. ``z[s] += 1`` is a read then a write: not atomic against
        other writers even with a synchronizer."""
        fields, pure = pop_fields(selection)
        if is_pure_fancy_indexing(pure, self.ndim):
            self.vindex[selection] = value
        elif is_pure_orthogonal_indexing(pure, self.ndim):
            self.set_orthogonal_selection(pure, value, fields=fields)
        else:
            self.set_basic_selection(pure, value, fields=fields)

    def _check_writable(self) -> None:
        if self._read_only:
            raise ReadOnlyError(f"{self._describe()} is read-only; open it with mode 'r+' or 'a' to write")

    def set_basic_selection(self, selection: Any, value: Any, fields: Any = None) -> None:
        """Write ints, slices and Ellipsis; ``value`` broadcasts to the selection."""
        self._check_writable()
        self._refresh_metadata()
        indexer = BasicIndexer(selection, self.shape, self.chunks)
        if chunk_io.is_lazy_array(value) and fields is None:
            chunk_io.write_from_lazy(self._layout, selection, indexer, value)
        else:
            chunk_io.write(self._layout, indexer, value, fields=fields)

    def set_orthogonal_selection(self, selection: Any, value: Any, fields: Any = None) -> None:
        """Write an independent selection per axis (an on-demand source - another
        array, an h5py dataset, a dask array - over step-1 slices is copied slab by slab)."""
        self._check_writable()
        self._refresh_metadata()
        indexer = OrthogonalIndexer(selection, self.shape, self.chunks)
        if chunk_io.is_lazy_array(value) and fields is None:
            chunk_io.write_from_lazy(self._layout, selection, indexer, value)
        else:
            chunk_io.write(self._layout, indexer, value, fields=fields)

    def set_coordinate_selection(self, selection: Any, value: Any, fields: Any = None) -> None:
        """Write the points given by one integer array per axis."""
        self._check_writable()
        self._refresh_metadata()
        chunk_io.write(self._layout, CoordinateIndexer(selection, self.shape, self.chunks), value, fields=fields)

    def set_mask_selection(self, selection: Any, value: Any, fields: Any = None) -> None:
        """Write the items where a Boolean mask is True."""
        self._check_writable()
        self._refresh_metadata()
        chunk_io.write(self._layout, MaskIndexer(selection, self.shape, self.chunks), value, fields=fields)

    def set_block_selection(self, selection: Any, value: Any, fields: Any = None) -> None:
        """Write whole chunks, selected by chunk-grid indices (an on-demand source over
        step-1 block slices is copied slab by slab)."""
        self._check_writable()
        self._refresh_metadata()
        indexer = BlockIndexer(selection, self.shape, self.chunks)
        region = _block_region(selection, self.shape, self.chunks)
        if chunk_io.is_lazy_array(value) and fields is None and region is not None:
            chunk_io.write_from_lazy(self._layout, region, BasicIndexer(region, self.shape, self.chunks), value)
        else:
            chunk_io.write(self._layout, indexer, value, fields=fields)

    # --- shape changes ---------------------------------------------------------------

    def resize(self, *args: Any) -> None:
        """Change the shape; chunks wholly outside the new shape are deleted.

        Data inside the kept region is not moved. Chunks are deleted before the new
        metadata is written, so an interrupted shrink never exposes stale chunks.
        """
        self._check_writable()
        with self._metadata_op():
            self._resize(_normalize_resize_args(self.shape, *args))

    def _resize(self, new_shape: tuple[int, ...]) -> None:
        new_grid = grid_shape(new_shape, self.chunks)
        doomed = []
        for key in self._layout.stored_chunk_keys():
            coords = self._layout.chunk_coords(key)
            if coords is not None and any(i >= n for i, n in zip(coords, new_grid)):
                doomed.append(key)
        if doomed:
            self.chunk_store.delitems(doomed)
        self._write_metadata(self._meta.replace(shape=new_shape))

    def append(self, data: Any, axis: int = 0) -> tuple[int, ...]:
        """Append ``data`` along ``axis``; returns the new shape.

        ``data`` is converted to the array's dtype before anything changes; if the
        write fails the array is resized back, leaving it as it was.
        """
        self._check_writable()
        data = chunk_io.coerce_value(data, self.dtype)
        with self._metadata_op():
            return self._append(data, axis)

    def _append(self, data: np.ndarray, axis: int) -> tuple[int, ...]:
        shape = self.shape
        if data.ndim != len(shape):
            raise ValueError(f"cannot append data of shape {data.shape} to an array of shape {shape}")
        axis = _normalize_axis(axis, len(shape))
        kept = tuple(s for i, s in enumerate(shape) if i != axis)
        if kept != tuple(s for i, s in enumerate(data.shape) if i != axis):
            raise ValueError(
                f"shape of data to append {data.shape} is not compatible with the array {shape}; "
                f"all dimensions must match except axis {axis}"
            )
        new_shape = tuple(s + data.shape[axis] if i == axis else s for i, s in enumerate(shape))
        self._resize(new_shape)
        region = tuple(slice(shape[i], new_shape[i]) if i == axis else slice(None) for i in range(len(shape)))
        try:
            self[region] = data
        except BaseException:
            with contextlib.suppress(Exception):
                self._resize(shape)
            raise
        return new_shape

    @contextlib.contextmanager
    def _metadata_op(self) -> Iterator[None]:
        """Shape changes run under the lock of ``.zarray`` and start from the stored
        metadata, so two processes appending at once both land."""
        with hold(self._synchronizer, [self._meta_key]):
            if self._synchronizer is not None:
                self._load_metadata()
            else:
                self._refresh_metadata()
            yield

    # --- atomic updates --------------------------------------------------------------

    def _indexer_for(self, selection: Any) -> Any:
        """The indexer ``z[selection]`` would use (same dispatch as __getitem__)."""
        _, pure = pop_fields(selection)
        if is_pure_fancy_indexing(pure, self.ndim):
            items = pure if isinstance(pure, tuple) else (pure,)
            if len(items) == 1 and np.asarray(items[0]).dtype == bool:
                return MaskIndexer(items[0], self.shape, self.chunks)
            return CoordinateIndexer(pure, self.shape, self.chunks)
        if is_pure_orthogonal_indexing(pure, self.ndim):
            return OrthogonalIndexer(pure, self.shape, self.chunks)
        return BasicIndexer(pure, self.shape, self.chunks)

    @contextlib.contextmanager
    def locked(self, selection: Any = Ellipsis) -> Iterator[Array]:
        """Hold the locks of every chunk ``selection`` touches: reads and writes of this
        array inside the block are atomic against other writers using the same
        synchronizer (threads, processes or a cluster)."""
        if self._synchronizer is None:
            raise SynchronizerError(
                f"{self._describe()} has no synchronizer, so a locked region would not be atomic; "
                "open it with synchronizer=ThreadSynchronizer() or ProcessSynchronizer(path)"
            )
        self._refresh_metadata()
        keys = {self._layout.chunk_key(p.chunk_coords) for p in self._indexer_for(selection)}
        with hold(self._synchronizer, keys):
            yield self

    def update(self, selection: Any, func: Any) -> None:
        """Atomically set ``z[selection] = func(z[selection])`` (see :meth:`locked`).

        Unlike ``z[selection] += 1`` (a read, then a separate write), no other writer
        can change the region in between."""
        self._check_writable()
        with self.locked(selection):
            self[selection] = func(self[selection])

    # --- Python protocol -------------------------------------------------------------

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = self[...]
        a = np.asarray(a)
        return a.astype(dtype) if dtype is not None else a

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self) -> Iterator[Any]:
        """Iterate over the first axis, loading one row of chunks at a time."""
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        step = self.chunks[0]
        for start in range(0, self.shape[0], step):
            block = self[start:start + step]
            yield from block

    def islice(self, start: int | None = None, end: int | None = None) -> Iterator[Any]:
        """Iterate over rows ``start:end`` of the first axis, a chunk row at a time."""
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        for name, value in (("start", start), ("end", end)):
            if value is not None and (not isinstance(value, (int, np.integer)) or value < 0):
                raise ValueError(f"islice {name} must be a non-negative integer or None, got {value!r}")
        start, end, _ = slice(start, end).indices(self.shape[0])
        step = self.chunks[0]
        pos = start
        while pos < end:
            stop = min(end, (pos // step + 1) * step)
            yield from self[pos:stop]
            pos = stop

    __hash__ = Node.__hash__  # defining __eq__ would otherwise unset it

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Array)
            and self.store == other.store
            and self.read_only == other.read_only
            and self.path == other.path
        )

    def __repr__(self) -> str:
        r = f"<{type(self).__module__}.{type(self).__name__}"
        if self.name:
            r += f" {self.name!r}"
        r += f" {self.shape} {self.dtype}"
        if self._read_only:
            r += " read-only"
        return r + ">"

    def __reduce__(self):
        # Small pickles for persistent stores: the class, then only non-default args.
        args = [self._store, self._path, self._read_only, self._chunk_store, self._synchronizer,
                self._cache_metadata, self._attrs.cache, self._partial_decompress, self._write_empty_chunks]
        defaults = [None, "", False, None, None, True, True, False, True]
        while len(args) > 1 and args[-1] == defaults[len(args) - 1]:
            args.pop()
        state: dict[str, Any] = {"allow_pickle": True} if self._allow_pickle else {}
        if type(self._meta_array) is not np.ndarray:
            state["meta_array"] = self._meta_array
        return (type(self), tuple(args), state or None)

    def __setstate__(self, state: dict) -> None:
        self._allow_pickle = state.get("allow_pickle", False)
        self._meta_array = state.get("meta_array", self._meta_array)
        self._set_metadata(self._meta)

Array.__module__ = "zarrflow"


def _block_region(selection: Any, shape: tuple[int, ...], chunks: tuple[int, ...]) -> tuple[slice, ...] | None:
    """The element slices a block selection of step-1 block slices covers, else None."""
    items = selection if isinstance(selection, tuple) else (selection,)
    if len(items) > len(shape) or any(not isinstance(it, slice) or it.step not in (None, 1) for it in items):
        return None
    items = items + (slice(None),) * (len(shape) - len(items))
    out = []
    for it, n, c in zip(items, shape, chunks):
        start, stop, _ = it.indices(-(-n // c))
        out.append(slice(min(start * c, n), min(max(stop, start) * c, n)))
    return tuple(out)


def _store_type_name(store: Store) -> str:
    if isinstance(store, KVStore):
        return type_name(store.mapping)
    return type_name(store)


def _is_item(selection: Any, ndim: int) -> bool:
    """True for one plain integer per axis (Python or NumPy ints, not bools)."""
    items = selection if type(selection) is tuple else (selection,)
    return ndim > 0 and len(items) == ndim and all(
        type(i) is int or (isinstance(i, np.integer) and not isinstance(i, np.bool_)) for i in items)


def _has_ellipsis(selection: Any) -> bool:
    items = selection if isinstance(selection, tuple) else (selection,)
    return any(item is Ellipsis for item in items)


def _normalize_axis(axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for an array of dimension {ndim}")
    return axis % ndim


def _normalize_resize_args(old_shape: tuple[int, ...], *args: Any) -> tuple[int, ...]:
    if len(args) == 1:
        arg = args[0]
        new = (arg,) if not isinstance(arg, (tuple, list)) else tuple(arg)
    else:
        new = tuple(args)
    if len(new) != len(old_shape):
        raise ValueError(f"new shape {new} must have {len(old_shape)} dimensions like {old_shape}")
    new = tuple(o if n is None else n for o, n in zip(old_shape, new))
    return normalize_shape(new)
