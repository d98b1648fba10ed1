"""The only place that builds dask graphs.

Each builder takes a plan (grids, regions) and :class:`~zarrflow.core.layout.ArrayLayout`
objects and returns a dask collection whose tasks are ``(function, ref, region, ...)``
tuples. Names are deterministic: a hash of the store's identity, the array's path,
its metadata JSON and the plan, so the same array gives the same keys and changed
metadata gives different ones.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import hashlib
import pickle
from itertools import product
from typing import Any

import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.delayed import Delayed
from dask.highlevelgraph import HighLevelGraph

from zarrflow.core.array import Array
from zarrflow.core.layout import ArrayLayout
from zarrflow.graph import plan, tasks

#: Stores whose pickle is at most this long are identified by it (their location).
_STORE_PICKLE_LIMIT = 1 << 16


def _without_gc(builder: Any) -> Any:
    """Run a graph builder with the cyclic garbage collector paused: building the task
    tuples of a large graph (100,000 chunks) otherwise triggers repeated full
    collections that cost more than the building itself (to_dask of 100,000 chunks:
    0.88 s -> 0.30 s measured);
    the tuples hold no reference cycles."""

    @functools.wraps(builder)
    def run(*args: Any, **kwargs: Any) -> Any:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return builder(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return run


def store_identity(store: Any) -> str:
    """A string naming where ``store`` keeps its data, not how it was opened: the store
    class and its location (``path``, plus the filesystem for fsspec stores) for
    persistent stores, else the hash of its pickle when small, else the object's id
    (in-memory stores: same object, same identity)."""
    if store is None:
        return "none"
    kind = f"{type(store).__module__}.{type(store).__qualname__}"
    if getattr(store, "is_persistent", False):
        location = getattr(store, "path", None)
        if isinstance(location, str) and location != ":memory:":
            fs = getattr(store, "fs", None)
            protocol = getattr(fs, "protocol", None) if fs is not None else None
            separator = getattr(store, "dimension_separator", None)
            return f"{kind}:{protocol!r}:{separator!r}:{location}"
        try:
            data = pickle.dumps(store, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - unpicklable stores fall back to the object id
            data = None
        if data is not None and len(data) <= _STORE_PICKLE_LIMIT:
            return kind + ":" + hashlib.sha1(data).hexdigest()
    return f"{kind}@{id(store):x}"


def array_token(array: Array, *extra: Any) -> str:
    """Deterministic token of an array (store identity, path, metadata JSON) plus ``extra``."""
    meta = array.layout.metadata.to_json()
    return tokenize(store_identity(array.store), store_identity(array.layout.chunk_store), array.path,
                    bytes(meta), *extra)


def _key_coords(grid: plan.Grid) -> list[tuple[int, ...]]:
    return list(product(*(range(len(axis)) for axis in grid)))


@_without_gc
def read_graph(array: Array, grid: plan.Grid) -> da.Array:
    """A dask array with one task per block of ``grid``: ``read_chunk`` when the blocks
    are the stored chunks, else ``read_block`` (several chunks assembled by the engine)."""
    name = "zarrflow-read-" + array_token(array, grid)
    ref = tasks.layout_of(array, synchronizer=None)
    if array.ndim == 0:
        layer = {(name,): (tasks.read_block, ref, ())}
    elif all(max(axis) <= c for axis, c in zip(grid, array.chunks)):  # one stored chunk per block
        layer = {(name, *coords): (tasks.read_chunk, ref, coords, tuple(grid[a][i] for a, i in enumerate(coords)))
                 for coords in _key_coords(grid)}
    else:
        slices = plan.block_slices(grid)
        layer = {(name, *coords): (tasks.read_block, ref, tuple(slices[a][i] for a, i in enumerate(coords)))
                 for coords in _key_coords(grid)}
    graph = HighLevelGraph.from_collections(name, layer, dependencies=())
    meta = np.empty((0,) * array.ndim, dtype=array.dtype)
    return da.Array(graph, name, chunks=grid, dtype=array.dtype, meta=meta)


@_without_gc
def write_graph(source: da.Array, target: ArrayLayout, region: plan.Region, token: str) -> Delayed:
    """A Delayed that writes each block of ``source`` into ``target`` at its place inside
    ``region`` (one ``write_block`` task per block) and returns the items written."""
    name = "zarrflow-store-" + tokenize(source.name, token, region)
    slices = plan.block_slices(source.chunks)
    layer: dict[Any, Any] = {}
    for coords in _key_coords(source.chunks):
        sel = tuple(slice(r.start + slices[a][i].start, r.start + slices[a][i].stop)
                    for a, (i, r) in enumerate(zip(coords, region)))
        layer[(name, *coords)] = (tasks.write_block, target, sel, (source.name, *coords))
    done = "zarrflow-stored-" + name.rsplit("-", 1)[-1]
    layer[done] = (tasks.collect, list(layer))
    graph = HighLevelGraph.from_collections(done, layer, dependencies=[source])
    return Delayed(done, graph)


@_without_gc
def apply_graph(func: Any, source: Array, target: Array, depth: Any, kwargs: dict | None, token: str) -> Delayed:
    """One ``apply_block`` task per target chunk (reading its halo of ``depth``)."""
    name = "zarrflow-map-blocks-" + token
    src, tgt = tasks.layout_of(source, synchronizer=None), tasks.layout_of(target, synchronizer=None)
    layer: dict[Any, Any] = {}
    for coords, out_region, in_region, trim in plan.halo_plan(target.shape, target.chunks, depth):
        layer[(name, *coords)] = (tasks.apply_block, func, src, tgt, in_region, trim, out_region, kwargs)
    return _finish(name, layer)


@_without_gc
def slices_graph(func: Any, source: Array, target: Array, axis: int, kwargs: dict | None, token: str) -> Delayed:
    """One ``apply_slices`` task per target chunk along ``axis`` (whole extent elsewhere)."""
    name = "zarrflow-map-slices-" + token
    src, tgt = tasks.layout_of(source, synchronizer=None), tasks.layout_of(target, synchronizer=None)
    axis %= max(target.ndim, 1)
    layer: dict[Any, Any] = {}
    for i, region in enumerate(plan.slab_plan(target.shape, target.chunks, axis)):
        layer[(name, i)] = (tasks.apply_slices, func, src, tgt, region, axis, kwargs)
    return _finish(name, layer)


@_without_gc
def filter_graph(spec: Any, planned: list[Any], source: Array, target: Array, token: str) -> Delayed:
    """One ``filter_tasks.apply_filter`` task per planned slab (``graph/filter_plan``)."""
    from zarrflow.graph import filter_tasks  # noqa: PLC0415 - needs scipy, only filters do

    name = "zarrflow-filter-" + token
    src, tgt = tasks.layout_of(source, synchronizer=None), tasks.layout_of(target, synchronizer=None)
    layer: dict[Any, Any] = {(name, i): (filter_tasks.apply_filter, spec, src, tgt, task)
                             for i, task in enumerate(planned)}
    return _finish(name, layer)


@_without_gc
def tiff_import_graph(source: Any, target: Array, regions: list[tuple[slice, ...]]) -> Delayed:
    """One ``tiff_tasks.read_slab`` task per slab of whole output chunks."""
    from zarrflow.graph import tiff_tasks  # noqa: PLC0415 - needs tifffile, only TIFF I/O does

    name = "zarrflow-tiff-import-" + array_token(target, source, regions)
    tgt = tasks.layout_of(target, synchronizer=None)
    layer: dict[Any, Any] = {}
    for i, region in enumerate(regions):  # each task carries its own files only
        files = source.files[region[0].start:region[0].stop] if source.stacked else source.files
        layer[(name, i)] = (tiff_tasks.read_slab, dataclasses.replace(source, files=files), tgt, region)
    return _finish(name, layer)


@_without_gc
def tiff_export_graph(array: Array, regions: list[tuple[slice, ...]], names: list[list[str]],
                      compression: Any) -> Delayed:
    """One ``tiff_tasks.write_slices`` task per slab (``names``: its files, in order)."""
    from zarrflow.graph import tiff_tasks  # noqa: PLC0415 - needs tifffile, only TIFF I/O does

    name = "zarrflow-tiff-export-" + array_token(array, regions, names, compression)
    src = tasks.layout_of(array, synchronizer=None)
    layer: dict[Any, Any] = {(name, i): (tiff_tasks.write_slices, src, region, files, compression)
                             for i, (region, files) in enumerate(zip(regions, names))}
    return _finish(name, layer)


def _finish(name: str, layer: dict[Any, Any]) -> Delayed:
    done = name.replace("zarrflow-", "zarrflow-done-", 1)
    layer[done] = (tasks.collect, list(layer))
    graph = HighLevelGraph.from_collections(done, layer, dependencies=())
    return Delayed(done, graph)


@_without_gc
def copy_graph(func: Any, source: Any, dest: Any, batches: list[list[tuple[str, str]]]) -> Delayed:
    """One ``func(source, dest, pairs)`` task per batch of ``(source_key, dest_key)``
    pairs (raw bytes copied store to store); the final task returns the bytes copied."""
    token = tokenize(store_identity(source), store_identity(dest), batches)
    name = "zarrflow-copy-store-" + token
    layer: dict[Any, Any] = {(name, i): (func, source, dest, [tuple(p) for p in pairs])
                             for i, pairs in enumerate(batches)}
    return _finish(name, layer)


@_without_gc
def array_copy_graph(raw: list[tuple[Any, Any, list[tuple[str, str]]]],
                     recode: list[tuple[ArrayLayout, ArrayLayout, tuple[slice, ...]]]) -> Delayed:
    """One graph copying array data: a ``copy_keys(source_store, dest_store, pairs)``
    task per batch of stored chunks copied as bytes, and a ``copy_region(source,
    dest, region)`` task per slab decoded and re-encoded; returns the total of their
    counts (bytes for the first kind, items for the second)."""
    token = tokenize([(store_identity(s), store_identity(d), p) for s, d, p in raw],
                     [(store_identity(s.store), s.path, store_identity(d.store), d.path, r) for s, d, r in recode])
    name = "zarrflow-copy-arrays-" + token
    layer: dict[Any, Any] = {}
    for i, (source, dest, pairs) in enumerate(raw):
        layer[(name, "bytes", i)] = (tasks.copy_keys, source, dest, [tuple(p) for p in pairs])
    for i, (source, dest, region) in enumerate(recode):
        layer[(name, "recode", i)] = (tasks.copy_region, source, dest, region)
    return _finish(name, layer)


@_without_gc
def rechunk_graph(source: ArrayLayout, target: ArrayLayout, blocks: list[tuple[int, tuple[slice, ...]]],
                  read_batch: int, record_store: Any, record_keys: list[str]) -> Delayed:
    """One ``rechunk_block`` task per ``(task number, region)`` of a rechunk stage; the
    final task returns the summed ``(bytes read, bytes written, stored read, stored
    written)``."""
    token = tokenize(store_identity(source.store), source.path, source.metadata.to_json(),
                     store_identity(target.store), target.path, target.metadata.to_json(), blocks, read_batch)
    name = "zarrflow-rechunk-" + token
    layer: dict[Any, Any] = {}
    for (number, region), key in zip(blocks, record_keys):
        layer[(name, number)] = (tasks.rechunk_block, source, target, region, read_batch, record_store, key)
    done = "zarrflow-done-rechunk-" + token
    layer[done] = (tasks.collect_counts, list(layer))
    graph = HighLevelGraph.from_collections(done, layer, dependencies=())
    return Delayed(done, graph)
