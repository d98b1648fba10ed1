"""Moving data between a selection and the chunks it touches.

A read projects the selection onto chunks, fetches the chunks (per chunk inside the
thread pool for local stores, one batched ``getitems`` per round for remote ones),
decodes each one in the pool and copies its part into the output — or decodes
straight into the output when a whole chunk lands on a contiguous region of it.

A write converts and checks the value first (so bad input changes nothing), then
encodes every wholly covered chunk without reading it, and read-modify-writes the
partially covered ones under the synchronizer's lock for that chunk. A scalar
written over many whole chunks is encoded once.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from zarrflow.core.indexing import (
    BasicIndexer,
    ChunkProjection,
    check_fields,
    check_no_multi_fields,
    is_scalar,
)
from zarrflow.core.pool import run_all
from zarrflow.core.slabs import chunk_slabs
from zarrflow.core.sync import hold
from zarrflow.storage.base import batches_getitems, getitems_with_contexts
from zarrflow.storage.readers import BytesReader, open_reader

if TYPE_CHECKING:
    from zarrflow.core.layout import ArrayLayout

#: Keys fetched per batched round trip from stores that batch (remote stores).
FETCH_BATCH = 1024

#: Memory budget of one slab when copying from a lazily read source.
LAZY_SLAB_BYTES = 256 * 2**20

_DELETE = object()  # marker: the chunk equals the fill value and is not stored


# --- value preparation -------------------------------------------------------------------


def coerce_value(value: Any, dtype: np.dtype) -> np.ndarray:
    """``value`` as an ndarray of ``dtype``; a conversion failure names both dtypes."""
    try:
        if dtype.kind == "O" and not isinstance(value, np.ndarray):
            arr = np.empty(len(value), dtype=object)
            arr[:] = list(value)
            return arr
        return np.asarray(value, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as exc:
        src = getattr(value, "dtype", type(value).__name__)
        raise ValueError(f"cannot store values of type {src} in an array of dtype {dtype}: {exc}") from exc


def coerce_scalar(value: Any, dtype: np.dtype) -> np.ndarray:
    """One item as a 0-d array of ``dtype``."""
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind == "O":
        value = value[()]  # the item itself, not a 0-d array holding it
    if dtype.kind == "O":
        arr = np.empty((), dtype=object)
        arr[()] = value
        return arr
    try:
        return np.asarray(value, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"cannot store {value!r} in an array of dtype {dtype}: {exc}") from exc


def is_lazy_array(value: Any) -> bool:
    """True for array-likes read on demand (zarrflow/zarr arrays, h5py datasets, dask)."""
    return (
        not isinstance(value, np.ndarray)
        and hasattr(value, "shape")
        and hasattr(value, "dtype")
        and hasattr(value, "__getitem__")
        and hasattr(value, "chunks")
    )


# --- helpers over the layout ---------------------------------------------------------


def _fill_value(layout: ArrayLayout, fields: Any) -> Any:
    fv = layout.metadata.fill_value
    if fv is None:
        return None
    if fields:
        return np.asarray(fv, dtype=layout.metadata.dtype)[fields]
    return fv


def new_chunk(layout: ArrayLayout) -> np.ndarray:
    """A full-shape chunk of ``layout``'s array holding its fill value (zeros, or
    empty objects, when it has none), laid out in the array's order."""
    meta = layout.metadata
    if meta.fill_value is None:
        if meta.dtype.kind == "O":
            return np.empty(meta.chunks, dtype=meta.dtype, order=meta.order)
        return np.zeros(meta.chunks, dtype=meta.dtype, order=meta.order)
    return np.full(meta.chunks, meta.fill_value, dtype=meta.dtype, order=meta.order)


def is_fill_chunk(chunk: np.ndarray, fill: Any) -> bool:
    """True when every item of ``chunk`` equals ``fill`` (NaN matching NaN)."""
    if fill is None:
        return False
    try:
        if chunk.dtype.kind in "fc" and np.isnan(fill):
            return bool(np.all(np.isnan(chunk)))
        return bool(np.all(chunk == fill))
    except (TypeError, ValueError):
        return False


def _is_edge(p: ChunkProjection, shape: tuple[int, ...], chunks: tuple[int, ...]) -> bool:
    return any((i + 1) * c > s for i, c, s in zip(p.chunk_coords, chunks, shape))


def _assign(target: np.ndarray, sel: Any, value: np.ndarray) -> None:
    """``target[sel] = value``, storing an object item itself (not a 0-d array of it)
    when ``sel`` picks a single element."""
    if value.dtype.kind == "O" and value.ndim == 0:
        items = sel if isinstance(sel, tuple) else (sel,)
        if all(isinstance(i, (int, np.integer)) for i in items):
            target[sel] = value[()]
            return
    target[sel] = value


def _direct_destination(out: np.ndarray, sel: Any, chunks: tuple[int, ...], order: str) -> np.ndarray | None:
    """The view of ``out`` a whole chunk can be decoded into, or None."""
    if not isinstance(sel, tuple) or not all(isinstance(s, slice) for s in sel):
        return None
    dest = out[sel] if sel else out[...]  # out[()] of a 0-d array is a scalar, not a view
    if dest.shape != chunks:
        # an integer index over a length-1 chunk axis drops it (z[:, :, 10] with chunks
        # (n, m, 1)): same items in the same order, so the chunk still decodes in place
        if [n for n in dest.shape if n != 1] != [n for n in chunks if n != 1]:
            return None
        dest = dest.reshape(chunks, order=order)  # a view: only length-1 axes change
    contiguous = dest.flags.c_contiguous if order == "C" else dest.flags.f_contiguous
    return dest if contiguous else None


# --- reading ---------------------------------------------------------------------------------


def read(layout: ArrayLayout, indexer: Any, out: np.ndarray | None = None, fields: Any = None,
         meta_array: Any = None) -> Any:
    """Read the selection described by ``indexer``; returns an ndarray or a scalar.
    ``meta_array`` (zarr 2's) goes to batched ``getitems`` calls as their contexts."""
    meta = layout.metadata
    out_dtype = check_fields(fields, meta.dtype)
    if out is None:
        out = np.empty(indexer.shape, dtype=out_dtype, order=meta.order)
    elif tuple(out.shape) != tuple(indexer.shape):
        raise ValueError(f"out has shape {out.shape}, the selection has shape {indexer.shape}")
    projections = list(indexer)
    if projections:
        _read_projections(layout, projections, out, tuple(indexer.drop_axes), fields, meta_array)
    if tuple(indexer.sel_shape) != tuple(indexer.shape):
        out = out.reshape(indexer.sel_shape)
    return out if out.shape else out[()]


def read_item(layout: ArrayLayout, coords: tuple[int, ...], within: tuple[int, ...]) -> Any:
    """One item (a NumPy scalar): the item at chunk-relative index ``within`` of the
    chunk at grid ``coords``, reading only its block when the chunk allows it. For
    plain (non-object) arrays on stores that are read key by key."""
    key = layout.chunk_key(coords)
    store = layout.data_store
    codec = layout.codec
    if layout.chunk_cache is not None:
        chunk = _cached_chunk(layout, key, lambda: store[key])
        return _fill_item(layout) if chunk is None else chunk[within]
    partial = codec.partial_decoder
    try:
        if partial is None:
            cdata = store[key]
        else:
            reader = open_reader(store, key)
            try:
                cdata = partial.read(reader, np.array([partial.offset_of(within)], dtype=np.int64), key)
            finally:
                reader.close()
            if isinstance(cdata, np.ndarray):
                return cdata[within]
    except KeyError:
        return _fill_item(layout)
    return codec.decode(cdata, key)[within]


def _fill_item(layout: ArrayLayout) -> Any:
    """What one item of a missing chunk reads as: the fill value (0 when there is none)."""
    fill = layout.metadata.fill_value
    return np.asarray(0 if fill is None else fill, dtype=layout.metadata.dtype)[()]


def _cached_chunk(layout: ArrayLayout, key: str, fetch: Any, token: Any = None) -> np.ndarray | None:
    """Chunk ``key`` decoded whole, from ``layout.chunk_cache`` or else read with
    ``fetch()`` (KeyError or None: missing, returns None) and put in the cache
    (``token``: the cache's token taken before the bytes were fetched, if they were)."""
    cache = layout.chunk_cache
    ckey = layout.cache_key(key)
    chunk = cache.get(ckey)
    if chunk is not None:
        return chunk
    if token is None:
        token = cache.token(ckey)
    try:
        cdata = fetch()
    except KeyError:
        return None
    if cdata is None:
        return None
    chunk = layout.codec.decode(cdata, key)
    cache.put(ckey, chunk, token)
    return chunk


def _read_projections(layout: ArrayLayout, projections: Sequence[ChunkProjection], out: np.ndarray,
                      drop_axes: tuple[int, ...], fields: Any, meta_array: Any = None) -> None:
    meta = layout.metadata
    codec = layout.codec
    store = layout.data_store
    keys = [layout.chunk_key(p.chunk_coords) for p in projections]
    fill = _fill_value(layout, fields)
    missing_fill = fill if fill is not None else (None if out.dtype.kind == "O" else 0)
    direct_ok = codec.can_decode_into and not fields and not drop_axes and out.dtype == meta.dtype

    partial = codec.partial_decoder
    decode_buffers = threading.local()  # one decode buffer per thread, reused chunk after chunk

    def decode_chunk(i: int, cdata: Any) -> np.ndarray:
        """Chunk ``i`` decoded; into this thread's reused buffer when the pipeline can,
        so a read of many chunks allocates (and page-faults) one chunk per thread."""
        if not codec.can_decode_into:
            return codec.decode(cdata, keys[i])
        buf = getattr(decode_buffers, "buf", None)
        if buf is None:
            buf = decode_buffers.buf = np.empty(meta.chunks, dtype=meta.dtype, order=meta.order)
        codec.decode_into(cdata, buf, keys[i])
        return buf

    def place(i: int, chunk: np.ndarray) -> None:
        p = projections[i]
        if fields:
            chunk = chunk[fields]
        part = chunk[p.chunk_selection]
        if drop_axes:
            part = part.squeeze(axis=drop_axes)
        out[p.out_selection] = part

    def process(i: int, cdata: Any) -> None:
        p = projections[i]
        if cdata is None:
            out[p.out_selection] = missing_fill
            return
        if direct_ok and p.is_complete:
            dest = _direct_destination(out, p.out_selection, meta.chunks, meta.order)
            if dest is not None:
                codec.decode_into(cdata, dest, keys[i])
                return
        if partial is not None and not p.is_complete:
            offsets = partial.item_offsets(p.chunk_selection)
            if offsets is not None:
                decoded = partial.read(BytesReader(cdata), offsets, keys[i])
                if isinstance(decoded, np.ndarray):
                    place(i, decoded)
                    return
        place(i, decode_chunk(i, cdata))

    def load(i: int) -> None:
        """Read and place one chunk, reading only the blocks it needs when it can."""
        p = projections[i]
        offsets = None if partial is None or p.is_complete else partial.item_offsets(p.chunk_selection)
        if offsets is None:
            process(i, fetch(i))
            return
        try:
            reader = open_reader(store, keys[i])
        except KeyError:
            process(i, None)
            return
        try:
            decoded = partial.read(reader, offsets, keys[i])
        finally:
            reader.close()
        if isinstance(decoded, np.ndarray):
            place(i, decoded)
        else:
            process(i, decoded)

    if layout.chunk_cache is not None:  # decoded chunks come from the cache, whole
        _read_through_cache(layout, keys, process, place, meta_array)
        return

    groups = _thin_chunk_groups(projections, meta, out) if direct_ok else None

    def process_group(indices: list[int], cdatas: list[Any]) -> None:
        if len(indices) == 1:
            process(indices[0], cdatas[0])
            return
        # Chunks thin along the last axis land on strided output: decode a run of them
        # side by side, then copy the run in one pass that fills whole cache lines.
        scratch = np.empty((len(indices), *meta.chunks), dtype=meta.dtype)
        for j, (i, cdata) in enumerate(zip(indices, cdatas)):
            if cdata is None:
                scratch[j] = missing_fill
            else:
                codec.decode_into(cdata, scratch[j], keys[i])
        first, last = projections[indices[0]].out_selection, projections[indices[-1]].out_selection
        dest = out[(*first[:-1], slice(first[-1].start, last[-1].stop))]
        dest.reshape(*dest.shape[:-1], len(indices), meta.chunks[-1])[...] = np.moveaxis(scratch, 0, -2)

    if groups is None:
        groups = [[i] for i in range(len(keys))]
    group_bytes = codec.nbytes * max(len(g) for g in groups)

    if batches_getitems(store):
        start = 0
        while start < len(groups):
            batch, n = [], 0
            while start < len(groups) and (not batch or n + len(groups[start]) <= FETCH_BATCH):
                batch.append(groups[start])
                n += len(groups[start])
                start += 1
            wanted = [keys[i] for g in batch for i in g]
            found = getitems_with_contexts(store, wanted, meta_array)
            run_all(lambda g: process_group(g, [found.get(keys[i]) for i in g]), batch, item_bytes=group_bytes)  # noqa: B023 - used before the loop moves on
        return

    def fetch(i: int) -> Any:
        try:
            return store[keys[i]]
        except KeyError:
            return None

    def load_group(indices: list[int]) -> None:
        if len(indices) == 1:
            load(indices[0])
        else:
            process_group(indices, [fetch(i) for i in indices])

    run_all(load_group, groups, item_bytes=group_bytes)


def _read_through_cache(layout: ArrayLayout, keys: list[str], process: Any, place: Any, meta_array: Any) -> None:
    """Place every chunk from the layout's decoded-chunk cache, reading (one batched
    ``getitems`` on stores that batch) and decoding whole only the chunks it lacks."""
    cache = layout.chunk_cache
    store = layout.data_store
    batched = batches_getitems(store)
    prefetched: dict[str, Any] = {}
    tokens: dict[str, Any] = {}
    if batched:
        wanted = [k for k in keys if layout.cache_key(k) not in cache]
        tokens = {k: cache.token(layout.cache_key(k)) for k in wanted}  # before the bytes are read
        for start in range(0, len(wanted), FETCH_BATCH):
            prefetched.update(getitems_with_contexts(store, wanted[start:start + FETCH_BATCH], meta_array))

    def one(i: int) -> None:
        key = keys[i]
        if batched:
            # a chunk that was cached when the batch was chosen may have been evicted since
            chunk = _cached_chunk(layout, key, lambda: prefetched.get(key) if key in tokens else store[key],
                                  tokens.get(key))
        else:
            chunk = _cached_chunk(layout, key, lambda: store[key])
        if chunk is None:
            process(i, None)
        else:
            place(i, chunk)

    run_all(one, range(len(keys)), item_bytes=layout.codec.nbytes)


#: Runs of thin chunks are grouped until their last-axis extent fills this many bytes.
CACHE_LINE_BYTES = 64


def _thin_chunk_groups(projections: Sequence[ChunkProjection], meta: Any, out: np.ndarray) -> list[list[int]] | None:
    """Group whole interior chunks that are adjacent along the last axis when each one
    covers less than a cache line of an output row (e.g. image stacks chunked one slice
    at a time); None when no grouping applies. Projections come in C order."""
    clast = meta.chunks[-1] if meta.chunks else 0
    row_bytes = clast * meta.dtype.itemsize
    if (meta.order != "C" or out.ndim < 2 or out.ndim != len(meta.chunks)  # no axis dropped by an int
            or not out.flags.c_contiguous or row_bytes >= CACHE_LINE_BYTES):
        return None
    size = min(16, -(-CACHE_LINE_BYTES // row_bytes))
    groups: list[list[int]] = []
    run: list[int] | None = None  # the open run of groupable chunks, if any
    for i, p in enumerate(projections):
        groupable = (p.is_complete and not _is_edge(p, meta.shape, meta.chunks)
                     and isinstance(p.out_selection, tuple) and all(isinstance(s, slice) for s in p.out_selection))
        if groupable and run is not None and len(run) < size:
            q = projections[run[-1]]
            if (q.chunk_coords[:-1] == p.chunk_coords[:-1] and q.chunk_coords[-1] + 1 == p.chunk_coords[-1]
                    and q.out_selection[:-1] == p.out_selection[:-1]
                    and q.out_selection[-1].stop == p.out_selection[-1].start):
                run.append(i)
                continue
        groups.append([i])
        run = groups[-1] if groupable else None
    if all(len(g) == 1 for g in groups):
        return None
    return groups


# --- writing ---------------------------------------------------------------------------------


def write(layout: ArrayLayout, indexer: Any, value: Any, fields: Any = None) -> None:
    """Write ``value`` into the selection described by ``indexer``."""
    meta = layout.metadata
    check_no_multi_fields(fields)
    target_dtype = check_fields(fields, meta.dtype)
    sel_shape, shape = tuple(indexer.sel_shape), tuple(indexer.shape)
    # zarr 2 decides "one item" by the array's dtype, also when writing one field: a list
    # written to an object field of a structured array is one item per element
    scalar = is_scalar(value, meta.dtype) or (sel_shape == () and target_dtype.kind == "O")
    if scalar:
        value = coerce_scalar(value, target_dtype)
    elif sel_shape == ():
        value = coerce_value(value, target_dtype)
        if value.size != 1:
            raise ValueError(f"cannot write a value of shape {value.shape} into a single item")
        value, scalar = value.reshape(()), True
    else:
        value = coerce_value(value, target_dtype)
        if value.shape != sel_shape:
            try:
                value = np.broadcast_to(value, sel_shape)
            except ValueError:
                raise ValueError(
                    f"cannot write a value of shape {value.shape} into a selection of shape {sel_shape}"
                ) from None
        if sel_shape != shape:
            value = value.reshape(shape)
    projections = list(indexer)
    if not projections:
        return
    # Every chunk this write touches stays locked until the whole write is done, so a
    # write spanning chunks is atomic against other writers (locks taken in key order).
    keys = [layout.chunk_key(p.chunk_coords) for p in projections]
    with hold(layout.synchronizer, keys):
        cache = layout.chunk_cache
        if cache is None:
            _write_projections(layout, projections, value, scalar, tuple(indexer.drop_axes), fields)
            return
        ckeys = [layout.cache_key(k) for k in keys]
        cache.invalidate_keys(ckeys)  # read-modify-writes below must see the store, not the cache
        try:
            _write_projections(layout, projections, value, scalar, tuple(indexer.drop_axes), fields)
        finally:
            cache.invalidate_keys(ckeys)  # reads in flight during the write must not cache


def _write_projections(layout: ArrayLayout, projections: Sequence[ChunkProjection], value: np.ndarray,
                       scalar: bool, drop_axes: tuple[int, ...], fields: Any) -> None:
    meta = layout.metadata
    codec = layout.codec
    store = layout.data_store
    keys = [layout.chunk_key(p.chunk_coords) for p in projections]
    fill = meta.fill_value
    skip_empty = not layout.write_empty_chunks
    batched = getattr(store, "supports_concurrent_getitems", False)
    expand = tuple(np.newaxis if a in drop_axes else slice(None) for a in range(len(meta.shape))) if drop_axes else None

    def finish(key: str, chunk: np.ndarray) -> Any:
        if skip_empty and is_fill_chunk(chunk, fill):
            return _DELETE
        return codec.encode(chunk, key)

    constant = None
    if scalar and fields is None and any(p.is_complete and not _is_edge(p, meta.shape, meta.chunks) for p in projections):
        full = np.full(meta.chunks, value, dtype=meta.dtype, order=meta.order)
        constant = finish("<constant>", full)

    def chunk_value(p: ChunkProjection) -> np.ndarray:
        if scalar:
            return value
        v = value[p.out_selection]
        return v[expand] if expand is not None else v

    def encode_one(i: int) -> Any:
        p, key = projections[i], keys[i]
        if p.is_complete and fields is None:
            if not _is_edge(p, meta.shape, meta.chunks):
                if constant is not None:
                    return constant
                v = chunk_value(p)
                if v.shape == meta.chunks:
                    return finish(key, v)
            chunk = new_chunk(layout)
            _assign(chunk, p.chunk_selection, chunk_value(p))
            return finish(key, chunk)
        return None  # partial chunk: read-modify-write (its lock is held by the caller)

    def update_partial(i: int) -> Any:
        p, key = projections[i], keys[i]
        try:
            cdata = store[key]
        except KeyError:
            chunk = new_chunk(layout)
        else:
            chunk = codec.decode(cdata, key)
            if not chunk.flags.writeable:
                chunk = chunk.copy(order=meta.order)
        target = chunk[fields] if fields else chunk
        _assign(target, p.chunk_selection, chunk_value(p))
        return finish(key, chunk)

    def put(key: str, cdata: Any) -> None:
        if cdata is _DELETE:
            with contextlib.suppress(KeyError):
                del store[key]
        else:
            store[key] = cdata

    def write_one(i: int) -> None:
        cdata = encode_one(i)
        put(keys[i], cdata if cdata is not None else update_partial(i))

    if not batched:
        run_all(write_one, range(len(keys)), item_bytes=codec.nbytes)
        return
    # Remote stores: encode whole chunks in the pool, then one batched round trip.
    encoded = run_all(encode_one, range(len(keys)), item_bytes=codec.nbytes)
    to_set = {keys[i]: c for i, c in enumerate(encoded) if c is not None and c is not _DELETE}
    to_delete = [keys[i] for i, c in enumerate(encoded) if c is _DELETE]
    if to_set:
        store.setitems(to_set)
    if to_delete:
        store.delitems(to_delete)
    partial = [i for i, c in enumerate(encoded) if c is None]
    run_all(lambda i: put(keys[i], update_partial(i)), partial, item_bytes=codec.nbytes)


# --- copying from lazily read sources ------------------------------------------------------------


def write_from_lazy(layout: ArrayLayout, selection: Any, indexer: Any, source: Any) -> None:
    """``array[selection] = source`` for an on-demand source (another array, an h5py
    dataset, a dask array), one slab of whole target chunks (``core/slabs``) at a
    time so memory stays bounded."""
    region = _plain_region(selection, layout.metadata.shape)
    sel_shape = tuple(indexer.sel_shape)
    if (region is None or tuple(source.shape) != sel_shape or not sel_shape
            or not _always_converts(np.dtype(source.dtype), layout.metadata.dtype)):
        # Load and convert everything first, so a failing conversion writes nothing.
        write(layout, indexer, np.asarray(source[...]))
        return
    meta = layout.metadata
    for target in chunk_slabs(meta.shape, meta.chunks, meta.dtype.itemsize, LAZY_SLAB_BYTES, region=region,
                              split=False):
        src = np.asarray(source[tuple(slice(t.start - r.start, t.stop - r.start) for t, r in zip(target, region))])
        write(layout, BasicIndexer(target, meta.shape, meta.chunks), src)


def _always_converts(src: np.dtype, dst: np.dtype) -> bool:
    """True when every value of ``src`` converts to ``dst`` without error (numeric and
    boolean casts never raise), so a slab-by-slab copy cannot fail half way."""
    numeric = "biufc"
    if src == dst:
        return True
    return src.kind in numeric and dst.kind in numeric


def _plain_region(selection: Any, shape: tuple[int, ...]) -> tuple[slice, ...] | None:
    """Normalise a selection of step-1 slices (and Ellipsis) to concrete slices, else None."""
    items = selection if isinstance(selection, tuple) else (selection,)
    if sum(1 for it in items if it is Ellipsis) > 1:
        return None
    if any(it is Ellipsis for it in items):
        idx = next(i for i, it in enumerate(items) if it is Ellipsis)
        items = items[:idx] + (slice(None),) * (len(shape) - len(items) + 1) + items[idx + 1:]
    items = items + (slice(None),) * (len(shape) - len(items))
    if len(items) != len(shape) or not shape:
        return None
    out = []
    for it, n in zip(items, shape):
        if not isinstance(it, slice):
            return None
        start, stop, step = it.indices(n)
        if step != 1:
            return None
        out.append(slice(start, max(start, stop)))
    return tuple(out)


__all__ = ["read", "read_item", "write", "write_from_lazy", "coerce_value", "coerce_scalar", "is_scalar", "is_lazy_array",
           "new_chunk", "is_fill_chunk"]
