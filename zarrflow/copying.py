"""``copy``, ``copy_all`` and ``copy_store`` as users call them: serial in the engine,
or parallel on the Dask layer.

This is the public face composing two layers: the engine (``core/copying``) walks
hierarchies, creates destination arrays and copies serially; the Dask layer
(``graph/copy``) copies array data or stored bytes in parallel. The choice is made
here, so the engine never imports the Dask layer, and ``import zarrflow`` still
imports no dask: the Dask layer is imported only when a copy runs there.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from zarrflow.core import copying as engine
from zarrflow.core.copying import MAX_SLAB_BYTES
from zarrflow.core.hierarchy import Group

__all__ = ["copy", "copy_all", "copy_store", "parallel_requested"]


def parallel_requested(parallel: bool | None, scheduler: Any = None) -> bool:
    """Whether a copy runs on Dask: ``parallel`` when given; otherwise when a
    ``scheduler`` is named or a ``distributed.Client`` is active (checked without
    importing distributed: no client exists unless it was imported)."""
    if parallel is not None:
        return bool(parallel)
    if scheduler is not None:
        return True
    dist = sys.modules.get("distributed")
    if dist is None:
        return False
    try:
        dist.default_client()
    except ValueError:
        return False
    return True


def _dask_copy_module() -> Any:
    """``zarrflow.graph.copy``, or an ImportError that says which extra a parallel copy needs."""
    try:
        return importlib.import_module("zarrflow.graph.copy")
    except ImportError as exc:
        raise ImportError(f"parallel copies run on Dask, which is not installed ({exc}); "
                          "pip install 'zarrflow[dask]', or pass parallel=False") from exc


def _data_copy(parallel: bool | None, progress: bool, scheduler: Any, dry_run: bool, dest: Any) -> Any:
    """The Dask layer's ``ParallelArrayCopy`` when the copy runs there, else None;
    refuses, before anything is written, a destination group that worker processes
    cannot write."""
    if dry_run or not parallel_requested(parallel, scheduler):
        return None
    planned = _dask_copy_module().ParallelArrayCopy(progress=progress, scheduler=scheduler, auto=parallel is None)
    if isinstance(dest, Group):
        planned.check_destination(dest)
    return planned


def copy_store(source: Any, dest: Any, source_path: str = "", dest_path: str = "", excludes: Any = None,
               includes: Any = None, flags: int = 0, if_exists: str = "raise", dry_run: bool = False,
               log: Any = None, *, parallel: bool | None = None, progress: bool = False,
               scheduler: Any = None) -> tuple[int, int, int]:
    """Copy the stored bytes of ``source`` (under ``source_path``) into ``dest`` (under
    ``dest_path``) without decoding them, preserving every setting and attribute.

    ``excludes``/``includes`` are regular expressions searched in source keys: an
    excluded key is skipped unless an include also matches it. ``if_exists``:
    'raise' (CopyError on the first key already in ``dest``; keys before it are
    copied), 'replace' or 'skip'. ``dry_run`` logs what would happen and writes
    nothing. ``log``: a callable, a file path or a file-like object. Returns
    ``(n_copied, n_skipped, n_bytes_copied)`` (see :func:`zarrflow.core.copying.copy_store`).

    ``parallel=True`` (or when ``scheduler`` is given) copies on Dask instead
    (:func:`zarrflow.graph.copy.copy_store_parallel`), with the same result and log
    lines, metadata written after the chunks and ``progress`` showing a progress bar.
    By default (``parallel=None``) the copy runs there too while a
    ``distributed.Client`` is active, if the source is persistent and the destination
    takes writes from several processes; otherwise it runs serially in the engine.
    """
    if parallel_requested(parallel, scheduler):
        src = engine.open_store(source, "r")
        dst = engine.open_store(dest, "a")
        if (parallel is not None or scheduler is not None  # asked for: stores that cannot take it are refused
                or (src.is_persistent and dst.supports_multiprocess_writes)):  # implicit: else copy serially
            return _dask_copy_module().copy_store_parallel(src, dst, source_path, dest_path, excludes, includes,
                                                           if_exists, dry_run, log, progress=progress,
                                                           scheduler=scheduler, flags=flags)
        source, dest = src, dst
    return engine.copy_store(source, dest, source_path, dest_path, excludes, includes, flags, if_exists,
                             dry_run, log)


def copy(source: Any, dest: Any, name: str | None = None, shallow: bool = False, without_attrs: bool = False,
         log: Any = None, if_exists: str = "raise", dry_run: bool = False, *,
         max_slab_bytes: int = MAX_SLAB_BYTES, parallel: bool | None = None, progress: bool = False,
         scheduler: Any = None, **create_kws: Any) -> tuple[int, int, int]:
    """Copy the array or group ``source`` (zarrflow or h5py) into the group ``dest``
    (zarrflow or h5py), as ``name`` (default: the source's name).

    ``shallow``, ``without_attrs``, ``log``, ``if_exists`` ('raise', 'replace', 'skip',
    'skip_initialized'), ``dry_run``, ``max_slab_bytes`` and ``create_kws`` are those
    of :func:`zarrflow.core.copying.copy`, and so are the result
    ``(n_copied, n_skipped, n_bytes_copied)`` and zarr 2's log lines.

    ``parallel=True`` (or, by default, while a ``distributed.Client`` is active or
    when ``scheduler`` is given) copies the data on Dask: the arrays are created
    first, then one graph copies every array's chunks, as stored bytes when source
    and destination encode chunks alike (same chunks, dtype, codecs, order, fill
    value; no decoding), else decoded and re-encoded one slab of whole destination
    chunks per task. ``progress`` shows a progress bar; ``scheduler`` as in
    ``dask.compute``. The result and log lines are the serial ones; a bytes copy
    leaves chunks the source never wrote unwritten (reading the fill value), where
    the serial copy writes them. h5py sources or destinations are always copied
    serially.
    """
    return engine.copy(source, dest, name, shallow, without_attrs, log, if_exists, dry_run,
                       max_slab_bytes=max_slab_bytes,
                       data_copy=_data_copy(parallel, progress, scheduler, dry_run, dest), **create_kws)


def copy_all(source: Any, dest: Any, shallow: bool = False, without_attrs: bool = False, log: Any = None,
             if_exists: str = "raise", dry_run: bool = False, *, max_slab_bytes: int = MAX_SLAB_BYTES,
             parallel: bool | None = None, progress: bool = False, scheduler: Any = None,
             **create_kws: Any) -> tuple[int, int, int]:
    """Copy every child of the group ``source`` into the group ``dest``, then the
    source group's attributes onto ``dest`` (unless ``without_attrs`` or
    ``dry_run``). Options (``parallel`` included) and result as :func:`copy`.
    """
    return engine.copy_all(source, dest, shallow, without_attrs, log, if_exists, dry_run,
                           max_slab_bytes=max_slab_bytes,
                           data_copy=_data_copy(parallel, progress, scheduler, dry_run, dest), **create_kws)
