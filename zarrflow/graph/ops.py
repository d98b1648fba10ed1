"""Public functions of the Dask layer: ``to_dask``, ``store``, ``from_dask``,
``map_blocks``, ``map_slices``.

They open/create arrays, make a plan (``plan.py``), turn it into a graph
(``build.py``) and run it: on the active ``distributed.Client`` when there is one
(dask's default), otherwise on the scheduler dask is configured with (threads by
default), or on ``scheduler=``. No cluster is ever started here.
"""

from __future__ import annotations

import math
from typing import Any

import dask
import dask.array as da
from dask.delayed import Delayed
from dask.diagnostics import ProgressBar

from zarrflow.core.array import Array
from zarrflow.core.creation import create, open_array
from zarrflow.errors import MisalignedWriteError
from zarrflow.graph import build, plan, tasks

try:  # optional: progress on a cluster
    import distributed
except ImportError:  # pragma: no cover - distributed not installed
    distributed = None


# --- reading -----------------------------------------------------------------------------


def to_dask(array: Any, chunks: Any = None) -> da.Array:
    """A dask array reading ``array`` lazily: one task per stored chunk, or per block of
    ``chunks`` (whole multiples of the stored chunks; -1 for a whole axis).

    By default a block is one stored chunk, except for large chunks thinner than a
    cache line along the last axis (e.g. (1000, 1000, 1) of float64), which are read a
    few side by side per block (``plan.default_read_chunks``): assembling one-item-thick
    blocks into ``compute()``'s result costs more than reading them.

    ``array`` is a zarrflow ``Array`` or anything ``open_array`` takes (opened read-only).
    Tasks carry the pickled store (its location, for persistent stores), the path
    and a region; same array, same task names.
    """
    array = _as_array(array, mode="r")
    if chunks is None:
        chunks = plan.default_read_chunks(array.shape, array.chunks, array.dtype.itemsize, array.order)
    grid = plan.read_grid(array.shape, array.chunks, chunks)
    return build.read_graph(array, grid)


# --- writing -----------------------------------------------------------------------------


def store(dask_array: Any, target: Any, region: Any = None, compute: bool = True, lock: Any = None,
          progress: bool = False, scheduler: Any = None) -> Any:
    """Write ``dask_array`` into ``target`` (an ``Array``, or a path/store opened 'r+'),
    at ``region`` (slices, step 1; default: the whole array).

    ``lock`` decides what happens when blocks are not aligned with the target's chunks
    (two blocks would write parts of one chunk):

    - None (default): regroup — rechunk the dask array so that every target chunk is
      written by exactly one task; no locks.
    - True: keep the blocks and serialise the shared chunks with the target's
      synchronizer (raises when it has none).
    - a synchronizer object (``ThreadSynchronizer``, ``ProcessSynchronizer``,
      ``DistributedSynchronizer``): like True, with that synchronizer.
    - False: neither; raises :class:`MisalignedWriteError` naming the shared chunks.

    Aligned blocks always write without locks. ``compute=False`` returns a
    ``dask.delayed.Delayed`` (computing it returns the number of items written);
    otherwise returns that number.
    """
    target = _as_array(target, mode="r+")
    if not hasattr(dask_array, "dask"):
        dask_array = da.asarray(dask_array)
    region = plan.normalize_region(region, target.shape)
    want = plan.region_shape(region)
    if tuple(dask_array.shape) != want:
        raise ValueError(f"cannot store a dask array of shape {dask_array.shape} into the region "
                         f"{_fmt_region(region)} of shape {want}")
    if any(math.isnan(c) for axis in dask_array.chunks for c in axis):  # unknown chunk sizes
        raise ValueError("the dask array has unknown chunk sizes; call .compute_chunk_sizes() first")
    sync = None
    if not plan.is_aligned(dask_array.chunks, region, target.chunks):
        if lock is None:
            dask_array = dask_array.rechunk(plan.regroup_grid(dask_array.chunks, region, target.chunks))
        else:
            sync = target.synchronizer if lock is True else lock
            if lock is False or sync is None:
                raise _misaligned_error(dask_array, target, region, lock)
    ref = tasks.layout_of(target, synchronizer=sync)
    token = build.array_token(target, "store", repr(sync))
    result = build.write_graph(dask_array, ref, region, token)
    return _run(result, compute, progress, scheduler, target)


def from_dask(dask_array: Any, url_or_store: Any = None, *, compute: bool = True, lock: Any = None,
              progress: bool = False, scheduler: Any = None, **create_kwargs: Any) -> Any:
    """Create an array shaped like ``dask_array`` at ``url_or_store`` and write it.

    ``create_kwargs`` go to ``zarrflow.create`` (``chunks``, ``compressor``,
    ``overwrite``, ``path``, ``synchronizer``, ...); chunks default to the dask
    array's block shape. The metadata is written once here, before any chunk task.
    Returns the new ``Array`` (``compute=False``: a ``Delayed`` writing it).
    """
    if not hasattr(dask_array, "dask"):
        dask_array = da.asarray(dask_array)
    create_kwargs.setdefault("chunks", tuple(max(c, 1) for c in dask_array.chunksize) or True)
    create_kwargs.setdefault("dtype", dask_array.dtype)
    target = create(dask_array.shape, store=url_or_store, **create_kwargs)
    written = store(dask_array, target, compute=compute, lock=lock, progress=progress, scheduler=scheduler)
    return target if compute else written


# --- mapping functions over chunks ------------------------------------------------------------


def map_blocks(func: Any, source: Any, target: Any, depth: Any = 0, *, kwargs: dict | None = None,
               compute: bool = True, progress: bool = False, scheduler: Any = None) -> Any:
    """``target[c] = func(source[c grown by depth])[trimmed]`` for every chunk ``c`` of
    ``target``: one task per target chunk reads its block plus a halo of ``depth``
    items (an int or one per axis, clipped at the array edge), applies ``func`` (a
    NumPy function keeping the block's shape), trims the halo and writes the chunk.

    ``source`` and ``target`` are Arrays or paths/stores (``target`` must exist, with
    the source's shape). Returns the number of items written (``compute=False``: a
    ``Delayed``).
    """
    source, target = _as_array(source, mode="r"), _as_array(target, mode="r+")
    _check_same_shape(source, target)
    token = build.array_token(target, "map_blocks", build.array_token(source), _func_token(func), depth, kwargs)
    return _run(build.apply_graph(func, source, target, depth, kwargs, token), compute, progress, scheduler, target)


def map_slices(func: Any, source: Any, target: Any, axis: int = 0, *, kwargs: dict | None = None,
               compute: bool = True, progress: bool = False, scheduler: Any = None) -> Any:
    """Apply ``func`` to every slice of ``source`` taken along ``axis`` (``source[i]``
    for axis 0 of a 3-D array: a 2-D image) and write the result into ``target``.

    One task per target chunk along ``axis`` reads whole slices, so a 2-D filter (e.g.
    ``scipy.ndimage.median_filter``) sees each image entire. Returns the number of
    items written (``compute=False``: a ``Delayed``).
    """
    source, target = _as_array(source, mode="r"), _as_array(target, mode="r+")
    _check_same_shape(source, target)
    if target.ndim < 2:
        raise ValueError(f"map_slices needs arrays of at least 2 dimensions, got shape {target.shape}")
    token = build.array_token(target, "map_slices", build.array_token(source), _func_token(func), axis, kwargs)
    return _run(build.slices_graph(func, source, target, axis, kwargs, token), compute, progress, scheduler, target)


# --- running -----------------------------------------------------------------------------


def active_client() -> Any:
    """The default ``distributed.Client`` when one exists, else None (never starts one)."""
    if distributed is None:
        return None
    try:
        return distributed.default_client()
    except ValueError:
        return None


def run(collection: Any, progress: bool = False, scheduler: Any = None) -> Any:
    """Compute ``collection``: on the active client unless ``scheduler`` says otherwise,
    with dask's ProgressBar (local schedulers) or ``distributed.progress`` (a client)
    when ``progress`` is True."""
    client = active_client() if scheduler is None else None
    if client is not None and dask.config.get("scheduler", None) in (None, "dask.distributed", "distributed"):
        future = client.compute(collection)
        if progress:
            distributed.progress(future)
        return future.result()
    if progress:
        with ProgressBar():
            return dask.compute(collection, scheduler=scheduler)[0]
    return dask.compute(collection, scheduler=scheduler)[0]


def _run(result: Delayed, compute: bool, progress: bool, scheduler: Any, target: Array | None = None) -> Any:
    if not compute:
        return result
    if target is not None:
        check_workers_can_write([target.store, target.layout.chunk_store], scheduler, "target")
    return run(result, progress=progress, scheduler=scheduler)


def runs_in_other_processes(scheduler: Any = None) -> bool:
    """True when tasks would run outside this process: ``scheduler='processes'``, or
    (no ``scheduler`` given) dask configured for processes or an active client."""
    if distributed is not None and isinstance(scheduler, distributed.Client):
        return True
    chosen = scheduler if scheduler is not None else dask.config.get("scheduler", None)
    if chosen in ("processes", "multiprocessing"):
        return True
    if distributed is not None and isinstance(chosen, distributed.Client):
        return True
    return scheduler is None and chosen in (None, "dask.distributed", "distributed") and active_client() is not None


def check_workers_can_write(stores: Any, scheduler: Any, what: str = "target") -> None:
    """Refuse, before anything runs, writes from worker processes into a store that
    cannot take them: an in-memory store (the writes would be lost) or a
    single-file store (ZipStore, DBMStore: concurrent writers corrupt the file)."""
    if not runs_in_other_processes(scheduler):
        return
    for store in stores:
        if store is None or getattr(store, "supports_multiprocess_writes", False):
            continue
        name = type(store).__name__
        if not getattr(store, "is_persistent", False):
            why = "lives in this process's memory, so writes made by worker processes would be lost"
        else:
            why = "is written by one process at a time, and worker processes writing it at once would corrupt it"
        raise ValueError(
            f"the {what}'s store ({name}) {why}; write to a directory or fsspec store (and copy that into "
            f"the {name} afterwards), or run on scheduler='threads'")


# --- helpers -------------------------------------------------------------------------------


def _as_array(obj: Any, mode: str) -> Array:
    if isinstance(obj, Array):
        return obj
    return open_array(obj, mode=mode)


def _check_same_shape(source: Array, target: Array) -> None:
    if source.shape != target.shape:
        raise ValueError(f"source shape {source.shape} differs from target shape {target.shape}")


def _func_token(func: Any) -> str:
    return f"{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', repr(func))}"


def _fmt_region(region: plan.Region) -> str:
    return "[" + ", ".join(f"{s.start}:{s.stop}" for s in region) + "]"


def _misaligned_error(dask_array: da.Array, target: Array, region: plan.Region, lock: Any) -> MisalignedWriteError:
    count, coords = plan.misaligned_chunks(dask_array.chunks, region, target.chunks, target.shape)
    listed = plan.describe_chunks(coords, count)
    regrouped = plan.regroup_grid(dask_array.chunks, region, target.chunks)
    why = ("lock=False refuses both regrouping and locks" if lock is False
           else "lock=True asks for the target's synchronizer but the target has none")
    return MisalignedWriteError(
        f"{count} chunk(s) of the target (grid coordinates {listed}) would be written by more than one "
        f"task: the dask array's blocks {dask_array.chunksize} do not line up with the target's chunks "
        f"{target.chunks} in region {_fmt_region(region)}, and {why}. Fix: pass lock=None to let store() "
        f"regroup the blocks, rechunk the dask array first (e.g. .rechunk({regrouped!r})), or open the "
        "target with synchronizer=ThreadSynchronizer()/ProcessSynchronizer(path)/DistributedSynchronizer() "
        "and pass lock=True."
    )


__all__ = ["MisalignedWriteError", "check_workers_can_write", "from_dask", "map_blocks", "map_slices", "run",
           "runs_in_other_processes", "store", "to_dask"]
