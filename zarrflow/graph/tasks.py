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

from typing import Any

import numpy as np

from zarrflow.core import chunk_io
from zarrflow.core.indexing import BasicIndexer
from zarrflow.core.layout import ArrayLayout
from zarrflow.storage.base import getitems_with_contexts

__all__ = ["apply_block", "apply_slices", "collect", "copy_keys", "copy_region", "layout_of", "read_block",
           "write_block"]


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


def collect(counts: list) -> int:
    """The final task of a write graph: total items written."""
    return int(sum(counts))


def _name(func: Any) -> str:
    return getattr(func, "__name__", repr(func))
