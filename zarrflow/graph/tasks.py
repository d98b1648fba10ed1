"""Small picklable task functions run by dask on any scheduler.

A task carries an :class:`ArrayRef` (the store object itself, which persistent stores
pickle as their location only, plus the array's path and options) and a region —
never array data read on the client, never a whole ``Array``. Each task opens the
array where it runs. Every write task is idempotent: running it twice stores the
same bytes.

No dask import here: these functions are plain Python over the engine.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import numpy as np

from zarrflow.core.array import Array
from zarrflow.storage.base import getitems_with_contexts


class ArrayRef(NamedTuple):
    """Where an array lives and how to open it; what tasks carry instead of data."""

    store: Any
    path: str
    chunk_store: Any = None
    synchronizer: Any = None
    write_empty_chunks: bool = True
    allow_pickle: bool = False
    #: the ``.zarray`` document (compact JSON, a few hundred bytes) the graph was
    #: planned with: tasks open the array from it instead of reading the store
    metadata: bytes | None = None

    @classmethod
    def of(cls, array: Array, synchronizer: Any = "same") -> ArrayRef:
        """The reference of ``array``; ``synchronizer`` overrides the array's own."""
        sync = array.synchronizer if synchronizer == "same" else synchronizer
        meta = json.dumps(json.loads(array._meta.to_json()), separators=(",", ":")).encode()
        return cls(array._store, array.path, array._chunk_store, sync, array.write_empty_chunks,
                   array._allow_pickle, meta)

    def open(self, read_only: bool) -> Array:
        """The array, opened where the task runs (from the carried metadata, when any)."""
        return Array(self.store, path=self.path, read_only=read_only, chunk_store=self.chunk_store,
                     synchronizer=self.synchronizer, write_empty_chunks=self.write_empty_chunks,
                     allow_pickle=self.allow_pickle, metadata=self.metadata)


def read_block(ref: ArrayRef, region: tuple[slice, ...]) -> np.ndarray:
    """Read ``array[region]`` (one or several whole stored chunks)."""
    return np.asarray(ref.open(read_only=True)[region])


def write_block(ref: ArrayRef, region: tuple[slice, ...], block: Any) -> int:
    """Write ``block`` into ``array[region]``; returns the number of items written.
    Partial chunks are read-modify-written under the ref's synchronizer, if any."""
    block = np.asarray(block)
    ref.open(read_only=False)[region] = block
    return int(block.size)


def apply_block(func: Any, source: ArrayRef, target: ArrayRef, in_region: tuple[slice, ...],
                trim: tuple[slice, ...], out_region: tuple[slice, ...], kwargs: dict | None = None) -> int:
    """Read ``source[in_region]`` (a target chunk plus its halo), apply ``func``, trim the
    halo and write the result into ``target[out_region]``."""
    data = np.asarray(source.open(read_only=True)[in_region])
    result = np.asarray(func(data, **(kwargs or {})))
    if result.shape != data.shape:
        raise ValueError(f"{_name(func)} returned shape {result.shape} for a block of shape {data.shape}; "
                         "map_blocks needs functions that keep the block's shape")
    return write_block(target, out_region, result[trim])


def apply_slices(func: Any, source: ArrayRef, target: ArrayRef, region: tuple[slice, ...], axis: int,
                 kwargs: dict | None = None) -> int:
    """Apply ``func`` to every 2-D (or (N-1)-D) slice of ``source[region]`` along ``axis``
    and write the results into ``target[region]``."""
    data = np.asarray(source.open(read_only=True)[region])
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


def copy_region(source: ArrayRef, target: ArrayRef, region: tuple[slice, ...]) -> int:
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


def collect(counts: list) -> int:
    """The final task of a write graph: total items written."""
    return int(sum(counts))


def _name(func: Any) -> str:
    return getattr(func, "__name__", repr(func))
