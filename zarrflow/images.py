"""Image stacks in and out of Zarr: ``from_tiff`` (a glob or directory of slice files,
or one multi-page TIFF) and ``to_tiff`` (one file per slice, or one multi-page file),
with tifffile, in parallel on Dask (threads by default, the active
``distributed.Client`` when there is one).

Slice files are taken in natural sort order (``s_2.tif`` before ``s_10.tif``); every
file's header is read first, and files whose shape or dtype differ from the first
one's are listed by name before anything is created or written. TIFF files are local
paths (tifffile reads and writes local files). Requires tifffile
(``pip install 'zarrflow[images]'``) and dask.
"""

from __future__ import annotations

import glob
import importlib
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from zarrflow.core.array import Array
from zarrflow.core.creation import create, open_array
from zarrflow.core.slabs import chunk_slabs

__all__ = ["from_tiff", "list_tiffs", "to_tiff"]

#: Bytes of image data per import/export task by default.
DEFAULT_TASK_BYTES = 64 << 20
_TIFF_SUFFIXES = (".tif", ".tiff")


def _modules() -> tuple[Any, Any, Any, Any]:
    """``graph.tiff_plan``, ``graph.tiff_tasks``, ``graph.build``, ``graph.ops`` (or an ImportError naming the extra)."""
    try:
        return tuple(importlib.import_module(f"zarrflow.graph.{m}")
                     for m in ("tiff_plan", "tiff_tasks", "build", "ops"))
    except ImportError as exc:
        raise ImportError(f"zarrflow.images needs tifffile and dask ({exc}); "
                          "pip install 'zarrflow[images,dask]'") from exc


def list_tiffs(source: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
    """The TIFF files ``source`` names, in order: a glob pattern (natural order), a
    directory (its ``*.tif``/``*.tiff`` files, natural order), one file, or a list of
    files (kept in the order given). A FileNotFoundError when it names none."""
    tiff_plan = _modules()[0]
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if os.path.isdir(text):
            files = [os.path.join(text, n) for n in os.listdir(text) if n.lower().endswith(_TIFF_SUFFIXES)]
            where = f"directory {text!r} holds no .tif/.tiff file"
        elif glob.has_magic(text):
            files = [f for f in glob.glob(text) if os.path.isfile(f)]
            where = f"no file matches {text!r}"
        else:
            if not os.path.isfile(text):
                raise FileNotFoundError(f"no such TIFF file: {text!r}")
            return [text]
        if not files:
            raise FileNotFoundError(where)
        return tiff_plan.natural_sorted(files)
    files = [os.fspath(f) for f in source]
    missing = [f for f in files if not os.path.isfile(f)]
    if missing:
        raise FileNotFoundError(f"{len(missing)} file(s) do not exist: {', '.join(missing[:5])}")
    if not files:
        raise FileNotFoundError("the list of TIFF files is empty")
    return files


def from_tiff(source: Any, output: Any, chunks: Any = None, *, compressor: Any = "default",
              overwrite: bool = False, max_bytes: int = DEFAULT_TASK_BYTES, progress: bool = False,
              scheduler: Any = None, storage_options: dict | None = None) -> Array:
    """Import a TIFF stack into a new array at ``output`` (path, URL or store) and return it.

    ``source``: ``"slices/*.tif"``, a directory, a list of files (each one slice, or
    each one stack: they are stacked along a new axis 0), or one multi-page TIFF (its
    pages along axis 0). ``chunks`` default to one slice per chunk. Raises, before
    anything is created, when files differ in shape or dtype (naming them) or a file is
    not a readable TIFF.
    """
    tiff_plan, tiff_tasks, build, ops = _modules()
    files = list_tiffs(source)
    infos = [tiff_tasks.scan(f) for f in files]
    single = isinstance(source, (str, os.PathLike)) and os.path.isfile(os.fspath(source))
    stack = tiff_plan.check_stack(infos, stacked=not single)
    if chunks is None:
        chunks = tiff_plan.default_chunks(stack)
    elif isinstance(chunks, int):
        chunks = (chunks,) + tuple(stack.shape[1:])
    kwargs = {"storage_options": storage_options} if storage_options and isinstance(output, str) else {}
    target = create(stack.shape, chunks=chunks, dtype=np.dtype(stack.dtype), compressor=compressor, store=output,
                    overwrite=overwrite, **kwargs)
    ops.check_workers_can_write([target.store, target.layout.chunk_store], scheduler, "output")
    regions = tiff_plan.import_slabs(stack, target.chunks, max_bytes)
    if regions:
        ops.run(build.tiff_import_graph(stack, target, regions), progress=progress, scheduler=scheduler)
    return target


def to_tiff(array: Any, pattern: str | os.PathLike, *, overwrite: bool = False, compression: str | None = None,
            max_bytes: int = DEFAULT_TASK_BYTES, progress: bool = False, scheduler: Any = None,
            storage_options: dict | None = None) -> list[str]:
    """Export ``array`` (an Array or a path/URL/store) as TIFF; returns the files written.

    ``pattern`` with one format field (``"out/slice_{:05d}.tif"``): one file per item
    of axis 0 (a 2-D image per file for a 3-D array), written in parallel; without one
    (``"out/stack.tif"``): a single multi-page file. Existing files are refused (before
    anything is written) unless ``overwrite``; directories are created. ``compression``:
    tifffile's (e.g. ``"zlib"``).
    """
    tiff_plan, tiff_tasks, build, ops = _modules()
    if not isinstance(array, Array):
        array = open_array(array, mode="r", **({"storage_options": storage_options} if storage_options else {}))
    pattern = os.fspath(pattern)
    if array.ndim < 2:
        raise ValueError(f"to_tiff needs an array of at least 2 dimensions (images), got shape {array.shape}")
    itemsize = array.dtype.itemsize
    if array.dtype.kind not in "biuf":
        raise TypeError(f"to_tiff: dtype {array.dtype} cannot be stored in a TIFF")
    regions = list(chunk_slabs(array.shape, array.chunks, itemsize, max_bytes, axis=0, split=False))
    if not tiff_plan.has_field(pattern):
        _refuse_existing([pattern], overwrite)
        _make_dirs([pattern])
        tiff_tasks.write_stack(array.layout, pattern, regions, compression)
        return [pattern]
    names = tiff_plan.export_names(pattern, array.shape[0])
    _refuse_existing(names, overwrite)
    _make_dirs(names)
    per_task = [names[r[0].start:r[0].stop] for r in regions]
    if regions:
        ops.run(build.tiff_export_graph(array, regions, per_task, compression), progress=progress,
                scheduler=scheduler)
    return names


def _refuse_existing(names: list[str], overwrite: bool) -> None:
    if overwrite:
        return
    existing = [n for n in names if os.path.exists(n)]
    if existing:
        raise FileExistsError(f"{len(existing)} file(s) exist already ({', '.join(existing[:3])}"
                              f"{', ...' if len(existing) > 3 else ''}); pass overwrite=True to replace them")


def _make_dirs(names: list[str]) -> None:
    for d in sorted({os.path.dirname(os.path.abspath(n)) for n in names}):
        os.makedirs(d, exist_ok=True)
