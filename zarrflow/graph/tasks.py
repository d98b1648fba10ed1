"""Small picklable task functions run by dask on any scheduler.

A task carries an :class:`~zarrflow.core.layout.ArrayLayout` (the parsed metadata,
the store object itself, which persistent stores pickle as their location only, the
path and the write options) and a region — never array data read on the client,
never a whole ``Array``. Tasks read and write through ``core/chunk_io`` directly:
no store read of ``.zarray`` and no JSON parse where they run. Every write task is idempotent: running it twice stores the
same bytes.

No dask import here: these functions are plain Python over the engine.
"""

from __future__ import annotations

import json
import math
from itertools import product
from typing import Any

import numpy as np

from zarrflow.core import chunk_io
from zarrflow.core.indexing import BasicIndexer
from zarrflow.core.layout import ArrayLayout
from zarrflow.storage.base import getitems_with_contexts

__all__ = ["apply_block", "apply_slices", "collect", "collect_counts", "copy_keys", "copy_region", "layout_of",
           "read_block", "read_chunk", "rechunk_block", "write_block"]


def layout_of(array: Any, synchronizer: Any = "same") -> ArrayLayout:
    """What a task carries for ``array``: its layout, with ``synchronizer`` replacing
    the array's own unless it is ``"same"``."""
    layout = array.layout
    return layout if synchronizer == "same" else layout.with_options(synchronizer=synchronizer)


def _indexer(layout: ArrayLayout, region: tuple[slice, ...]) -> BasicIndexer:
    meta = layout.metadata
    return BasicIndexer(region if region else Ellipsis, meta.shape, meta.chunks)


def read_block(layout: ArrayLayout, region: tuple[slice, ...]) -> np.ndarray:
    """Read ``array[region]`` (one or several whole stored chunks)."""
    return np.asarray(chunk_io.read(layout, _indexer(layout, region)))


def read_chunk(layout: ArrayLayout, coords: tuple[int, ...], shape: tuple[int, ...]) -> np.ndarray:
    """Read the one stored chunk at grid ``coords`` (``shape``: its part inside the
    array, smaller at the edges): one store read, decoded straight into a new array,
    no indexer and no copy (an edge chunk is a view of its decoded chunk). A missing
    chunk reads as the fill value (zeros, or None for objects, when there is none)."""
    key = layout.chunk_key(coords)
    meta = layout.metadata
    try:
        cdata = layout.data_store[key]
    except KeyError:
        fill = meta.fill_value
        if fill is None:
            fill = None if meta.dtype.kind == "O" else 0
        return np.full(shape, fill, dtype=meta.dtype, order=meta.order)
    chunk = layout.codec.decode(cdata, key)
    if not chunk.flags.writeable:  # decoded over the stored bytes: blocks are writeable, as before
        chunk = chunk.copy(order="K")
    if chunk.shape != shape:
        chunk = chunk[tuple(slice(0, n) for n in shape)]
    return chunk


def write_block(layout: ArrayLayout, region: tuple[slice, ...], block: Any) -> int:
    """Write ``block`` into ``array[region]``; returns the number of items written.
    Partial chunks are read-modify-written under the layout's synchronizer, if any."""
    block = np.asarray(block)
    chunk_io.write(layout, _indexer(layout, region), block)
    return int(block.size)


def apply_block(func: Any, source: ArrayLayout, target: ArrayLayout, in_region: tuple[slice, ...],
                trim: tuple[slice, ...], out_region: tuple[slice, ...], kwargs: dict | None = None) -> int:
    """Read ``source[in_region]`` (a target chunk plus its halo), apply ``func``, trim the
    halo and write the result into ``target[out_region]``."""
    data = read_block(source, in_region)
    result = np.asarray(func(data, **(kwargs or {})))
    if result.shape != data.shape:
        raise ValueError(f"{_name(func)} returned shape {result.shape} for a block of shape {data.shape}; "
                         "map_blocks needs functions that keep the block's shape")
    return write_block(target, out_region, result[trim])


def apply_slices(func: Any, source: ArrayLayout, target: ArrayLayout, region: tuple[slice, ...], axis: int,
                 kwargs: dict | None = None) -> int:
    """Apply ``func`` to every 2-D (or (N-1)-D) slice of ``source[region]`` along ``axis``
    and write the results into ``target[region]``."""
    data = read_block(source, region)
    out = None
    for i in range(data.shape[axis]):
        piece = np.asarray(func(np.take(data, i, axis=axis), **(kwargs or {})))
        if out is None:
            out = np.empty(data.shape, dtype=piece.dtype)
        index = [slice(None)] * data.ndim
        index[axis] = i
        out[tuple(index)] = piece
    if out is None:
        return 0
    return write_block(target, region, out)


def copy_region(source: ArrayLayout, target: ArrayLayout, region: tuple[slice, ...]) -> int:
    """Decode ``source[region]`` and write it into ``target[region]`` (re-encoded with
    the target's codecs); ``region`` covers whole target chunks. Returns the items."""
    return write_block(target, region, read_block(source, region))


def copy_keys(source: Any, dest: Any, pairs: list[tuple[str, str]]) -> int:
    """Copy the stored values of ``pairs`` ``(source_key, dest_key)`` from the store
    ``source`` to the store ``dest`` without decoding them (one ``getitems``, one
    ``setitems``); returns the bytes copied."""
    pairs = list(pairs)
    if not pairs:
        return 0
    wanted = [k for k, _ in pairs]
    values = getitems_with_contexts(source, wanted)
    missing = [k for k, _ in pairs if k not in values]
    if missing:
        raise KeyError(f"key {missing[0]!r} vanished from the source store during the copy")
    dest.setitems({d: values[s] for s, d in pairs})
    return sum(len(v) for v in values.values())


def rechunk_block(source: ArrayLayout, target: ArrayLayout, region: tuple[slice, ...], read_batch: int,
                  record_store: Any = None, record_key: str | None = None) -> tuple[int, int, int, int]:
    """Write the whole target chunks of ``region`` from the source chunks it touches.

    Source chunks are fetched ``read_batch`` at a time and decoded one at a time into
    the assembled block (missing ones read as the source's fill value); each target
    chunk is then encoded and stored, except those whose whole region is covered only
    by missing source chunks (uninitialised stays uninitialised). When the target's
    chunks equal the source's and the encodings agree, stored bytes are copied
    without decoding. Finally ``record_key`` is written in ``record_store`` (the
    resume record: the task's chunks are all stored). Returns ``(decoded bytes read,
    decoded bytes written, stored bytes read, stored bytes written)``.
    """
    if _same_stored_chunks(source, target):
        counts = _copy_stored_chunks(source, target, region, read_batch)
    else:
        counts = _rechunk_decoded(source, target, region, read_batch)
    if record_store is not None and record_key is not None:
        record_store[record_key] = json.dumps({"counts": list(counts)}).encode()
    return counts


def _same_stored_chunks(source: ArrayLayout, target: ArrayLayout) -> bool:
    s, t = source.metadata, target.metadata
    return (s.chunks == t.chunks and s.shape == t.shape and s.dtype == t.dtype and s.order == t.order
            and s.compressor == t.compressor and (s.filters or None) == (t.filters or None)
            and _same_fill(s.fill_value, t.fill_value))


def _same_fill(a: Any, b: Any) -> bool:
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)) and (a is None) == (b is None)
    except TypeError:
        return a == b


def _chunk_ranges(region: tuple[slice, ...], chunks: tuple[int, ...]) -> list[range]:
    return [range(r.start // c, -(-r.stop // c)) for r, c in zip(region, chunks)]


def _copy_stored_chunks(source: ArrayLayout, target: ArrayLayout, region: tuple[slice, ...],
                        read_batch: int) -> tuple[int, int, int, int]:
    coords = list(product(*_chunk_ranges(region, source.metadata.chunks)))
    nbytes = math.prod(source.metadata.chunks) * source.metadata.dtype.itemsize
    decoded = stored_in = 0
    for start in range(0, len(coords), max(1, read_batch)):
        batch = coords[start:start + max(1, read_batch)]
        keys = {source.chunk_key(c): target.chunk_key(c) for c in batch}
        values = getitems_with_contexts(source.data_store, list(keys))
        if values:
            target.data_store.setitems({keys[k]: v for k, v in values.items()})
        decoded += nbytes * len(values)
        stored_in += sum(memoryview(v).nbytes for v in values.values())
    return decoded, decoded, stored_in, stored_in


def _rechunk_decoded(source: ArrayLayout, target: ArrayLayout, region: tuple[slice, ...],
                     read_batch: int) -> tuple[int, int, int, int]:
    smeta, tmeta = source.metadata, target.metadata
    shape = tuple(r.stop - r.start for r in region)
    block = np.empty(shape, dtype=tmeta.dtype, order=tmeta.order)
    # one decode buffer for every source chunk of the task (a fresh one per chunk
    # costs a new mapping and its page faults each time)
    decode_buffer = (np.empty(smeta.chunks, dtype=smeta.dtype, order=smeta.order)
                     if source.codec.can_decode_into else None)
    tchunks = tmeta.chunks
    # which target chunks of the block hold at least one stored source item
    tgrid = [range(r.start // c, -(-r.stop // c)) for r, c in zip(region, tchunks)]
    touched = np.zeros(tuple(len(g) for g in tgrid), dtype=bool)
    scoords = list(product(*_chunk_ranges(region, smeta.chunks)))
    src_nbytes = math.prod(smeta.chunks) * smeta.dtype.itemsize
    fill = smeta.fill_value
    read_decoded = read_stored = 0
    batch_size = max(1, read_batch)
    for start in range(0, len(scoords), batch_size):
        batch = scoords[start:start + batch_size]
        keys = [source.chunk_key(c) for c in batch]
        values = getitems_with_contexts(source.data_store, keys)
        for coords, key in zip(batch, keys):
            # the overlap of this source chunk with the block, in both frames
            lo = [max(i * c, r.start) for i, c, r in zip(coords, smeta.chunks, region)]
            hi = [min((i + 1) * c, r.stop) for i, c, r in zip(coords, smeta.chunks, region)]
            dst = tuple(slice(low - r.start, high - r.start) for low, high, r in zip(lo, hi, region))
            cdata = values.get(key)
            if cdata is None:
                block[dst] = fill if fill is not None else 0
                continue
            if decode_buffer is not None:
                source.codec.decode_into(cdata, decode_buffer, key)
                chunk = decode_buffer
            else:
                chunk = source.codec.decode(cdata, key)
            src = tuple(slice(low - i * c, high - i * c) for low, high, i, c in zip(lo, hi, coords, smeta.chunks))
            block[dst] = chunk[src]
            del chunk
            read_decoded += src_nbytes
            read_stored += memoryview(cdata).nbytes
            tsel = tuple(slice(low // c - g.start, -(-high // c) - g.start)
                         for low, high, c, g in zip(lo, hi, tchunks, tgrid))
            touched[tsel] = True
        del values
    written_decoded = written_stored = 0
    tgt_nbytes = math.prod(tchunks) * tmeta.dtype.itemsize
    pending: dict[str, Any] = {}
    store = target.data_store
    for rel in product(*(range(len(g)) for g in tgrid)):
        if not touched[rel]:
            continue
        coords = tuple(g[i] for g, i in zip(tgrid, rel))
        lo = [i * c for i, c in zip(coords, tchunks)]
        hi = [min((i + 1) * c, n) for i, c, n in zip(coords, tchunks, tmeta.shape)]
        sel = tuple(slice(low - r.start, high - r.start) for low, high, r in zip(lo, hi, region))
        piece = block[sel] if sel else block
        if piece.shape != tchunks:
            chunk = chunk_io.new_chunk(target)
            chunk[tuple(slice(0, n) for n in piece.shape)] = piece
        else:
            chunk = piece
        key = target.chunk_key(coords)
        if not target.write_empty_chunks and chunk_io.is_fill_chunk(chunk, tmeta.fill_value):
            if key in store:
                del store[key]
            continue
        encoded = target.codec.encode(chunk, key)
        pending[key] = encoded
        written_decoded += tgt_nbytes
        written_stored += memoryview(encoded).nbytes
        if len(pending) >= batch_size:
            store.setitems(pending)
            pending = {}
    if pending:
        store.setitems(pending)
    return read_decoded, written_decoded, read_stored, written_stored


def collect_counts(counts: list) -> tuple[int, ...]:
    """The final task of a rechunk stage: the tasks' count tuples, summed item by item."""
    counts = [tuple(c) for c in counts]
    if not counts:
        return (0, 0, 0, 0)
    return tuple(int(sum(column)) for column in zip(*counts))


def collect(counts: list) -> int:
    """The final task of a write graph: total items written."""
    return int(sum(counts))


def _name(func: Any) -> str:
    return getattr(func, "__name__", repr(func))
