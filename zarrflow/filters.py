"""Order-statistic image filters on chunked arrays, with scipy.ndimage's signatures and
results: ``median_filter``, ``rank_filter``, ``percentile_filter``, ``minimum_filter``,
``maximum_filter``.

``input`` is a zarrflow ``Array`` or anything ``open_array`` opens (a path, URL or
store; opened read-only); ``output`` is a path/URL/store (a new array is created there
with the input's shape, chunks, dtype, compressor, filters and fill value, unless
``chunks=``/``dtype=``/``compressor=`` say otherwise) or an existing ``Array`` of the
input's shape. The result equals ``scipy.ndimage.<name>(input[...], same arguments)``
exactly, edges included, for every ``mode``, window size and ``origin``: one task per
group of whole output chunks reads its region plus the window's halo (any depth, from
as many neighbouring chunks as it takes; from the far side of the array for
``mode='wrap'``; ``cval`` for ``'constant'``) and writes only its own chunks, so no
locks are needed and memory stays bounded by ``max_bytes`` per task (about 3x that
with the halo and the kernel's result). ``axes=(1, 2)`` (or a footprint of depth 1
along axis 0) filters slice by slice: no halo along the slice axis.

Slices of uint8/uint16/float32 with small square windows run on OpenCV when it is
installed, other medians and ranks over up to 64 points on vectorised NumPy, the rest
on scipy (see ``zarrflow.graph.kernels``); all give scipy's values.

Where the result may differ from scipy's, and why:

- NaN: a float block holding NaN always runs on scipy's own kernel. For median, rank
  and percentile filters of 2-D and higher arrays scipy's result depends only on the
  window, so zarrflow's equals it, NaN included (tested). For 1-D arrays and for
  minimum/maximum filters scipy uses sliding algorithms whose NaN results depend on
  where the line starts, which chunking changes: windows holding NaN may then differ
  (NaN-free windows never do). A NaN-free result is exact everywhere.
- 1-D median/rank/percentile: scipy's 1-D code reads past the line when the window is
  longer than the array (it returned values absent from the input, differently from
  run to run, in scipy 1.17); zarrflow returns what scipy's n-D code computes.
- ``0.0`` and ``-0.0`` compare equal and either may be returned.
- ``cval`` outside an integer dtype's range is refused (scipy's result would depend on
  how C casts it). 64-bit integers beyond +-2**53 run on scipy, which rounds them
  through float64, so its rounding is reproduced.

Runs on the threaded scheduler by default, on the active ``distributed.Client`` when
there is one, or on ``scheduler=``. Requires scipy (``pip install 'zarrflow[images]'``;
OpenCV comes with ``'zarrflow[filters]'``) and dask.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from zarrflow.core.array import Array
from zarrflow.core.creation import create, open_array

__all__ = ["maximum_filter", "median_filter", "minimum_filter", "percentile_filter", "plan", "rank_filter"]


def _layer() -> tuple[Any, Any, Any]:
    """``graph.filter_plan``, ``graph.build`` and ``graph.ops``, or an ImportError naming the extra."""
    try:
        return tuple(importlib.import_module(f"zarrflow.graph.{m}") for m in ("filter_plan", "build", "ops"))
    except ImportError as exc:
        raise ImportError(f"zarrflow.filters needs scipy and dask ({exc}); pip install 'zarrflow[images,dask]' "
                          "(and 'zarrflow[filters]' for the OpenCV kernels)") from exc


def _as_input(obj: Any, storage_options: dict | None) -> Array:
    if isinstance(obj, Array):
        return obj
    kwargs = {"storage_options": storage_options} if storage_options else {}
    return open_array(obj, mode="r", **kwargs)


def plan(name: str, input: Any, size: Any = None, footprint: Any = None, mode: Any = "reflect",
         cval: float = 0.0, origin: Any = 0, axes: Any = None, *, rank: Any = None, percentile: Any = None,
         chunks: Any = None, kernel: str = "auto", max_bytes: int | None = None,
         storage_options: dict | None = None) -> tuple[Any, list]:
    """The checked filter and its tasks, without running anything: ``(spec, tasks)``
    (see ``zarrflow.graph.filter_plan``); ``chunks``: the output's chunks (default the input's)."""
    filter_plan, _, _ = _layer()
    source = _as_input(input, storage_options)
    spec = filter_plan.filter_spec(name, source.shape, source.dtype, size, footprint, mode, cval, origin, axes,
                                   rank=rank, percentile=percentile, kernel=kernel)
    out_chunks = tuple(source.chunks if chunks is None else _normalize_chunks(chunks, source.shape))
    budget = filter_plan.DEFAULT_TASK_BYTES if max_bytes is None else int(max_bytes)
    return spec, filter_plan.plan_filter(source.shape, out_chunks, source.dtype.itemsize, spec, budget)


def _normalize_chunks(chunks: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    items = (chunks,) * len(shape) if isinstance(chunks, int) else tuple(chunks)
    if len(items) != len(shape):
        raise ValueError(f"chunks={chunks!r} must have one entry per axis of the shape {shape}")
    return tuple(n if c in (None, -1) else int(c) for c, n in zip(items, shape))


def _run(name: str, input: Any, output: Any, size: Any, footprint: Any, mode: Any, cval: float, origin: Any,
         axes: Any, *, rank: Any = None, percentile: Any = None, chunks: Any = None, dtype: Any = None,
         compressor: Any = "same", overwrite: bool = False, kernel: str = "auto", max_bytes: int | None = None,
         progress: bool = False, scheduler: Any = None, storage_options: dict | None = None) -> Array:
    filter_plan, build, ops = _layer()
    source = _as_input(input, storage_options)
    if output is None:
        raise ValueError(f"{name}: give output (a path, URL, store or Array to write the result into)")
    if isinstance(output, Array):
        if output.shape != source.shape:
            raise ValueError(f"{name}: output has shape {output.shape}, the input has shape {source.shape}")
        if output.read_only:
            raise ValueError(f"{name}: output is read-only")
        if build.store_identity(output.store) == build.store_identity(source.store) and output.path == source.path:
            raise ValueError(f"{name}: output is the input array; filters cannot run in place "
                             "(tasks read halos other tasks would overwrite)")
        if chunks is not None:
            raise ValueError(f"{name}: chunks= applies to a new output array, not an existing one")
        out_chunks = output.chunks
    else:
        out_chunks = source.chunks if chunks is None else _normalize_chunks(chunks, source.shape)
    out_dtype = np.dtype(source.dtype if dtype is None else dtype)
    if isinstance(output, Array):
        out_dtype = output.dtype
    if out_dtype.kind not in "biuf":
        raise TypeError(f"{name}: output dtype {out_dtype} is not a number type")
    spec = filter_plan.filter_spec(name, source.shape, source.dtype, size, footprint, mode, cval, origin, axes,
                                   rank=rank, percentile=percentile, kernel=kernel)
    budget = filter_plan.DEFAULT_TASK_BYTES if max_bytes is None else int(max_bytes)
    planned = filter_plan.plan_filter(source.shape, tuple(out_chunks), source.dtype.itemsize, spec, budget)
    if not isinstance(output, Array):  # everything is checked: now create the output
        kwargs = {"storage_options": storage_options} if storage_options and isinstance(output, str) else {}
        target = create(source.shape, chunks=tuple(out_chunks), dtype=out_dtype,
                        compressor=source.compressor if compressor == "same" else compressor,
                        filters=source.filters if dtype is None else None,
                        fill_value=source.fill_value if dtype is None else 0, order=source.order,
                        store=output, overwrite=overwrite, **kwargs)
    else:
        target = output
    ops.check_workers_can_write([target.store, target.layout.chunk_store], scheduler, "output")
    token = build.array_token(target, name, build.array_token(source), spec.op, spec.rank, spec.footprint.tobytes(),
                              spec.footprint.shape, spec.origin, spec.mode, spec.cval, spec.kernel, planned)
    if planned:
        ops.run(build.filter_graph(spec, planned, source, target, token), progress=progress, scheduler=scheduler)
    return target


_OPTIONS_DOC = """
    Extra keywords (not in scipy): ``chunks``, ``dtype``, ``compressor`` of a new output
    (default: the input's), ``overwrite`` (replace an array already at ``output``),
    ``kernel`` (``'auto'``, ``'scipy'``, ``'opencv'``, ``'numpy'``: force one; a
    ValueError when it cannot compute this filter, e.g. an even size for OpenCV's
    medianBlur), ``max_bytes`` (output bytes per task), ``progress``, ``scheduler``,
    ``storage_options`` (for URLs). Returns the output ``Array``; bad arguments raise
    before anything is created or written."""


def median_filter(input: Any, size: Any = None, footprint: Any = None, output: Any = None, mode: str = "reflect",
                  cval: float = 0.0, origin: Any = 0, axes: Any = None, **options: Any) -> Array:
    """scipy.ndimage.median_filter of ``input``, written to ``output``.
    """
    return _run("median_filter", input, output, size, footprint, mode, cval, origin, axes, **options)


def rank_filter(input: Any, rank: int, size: Any = None, footprint: Any = None, output: Any = None,
                mode: str = "reflect", cval: float = 0.0, origin: Any = 0, axes: Any = None, **options: Any) -> Array:
    """scipy.ndimage.rank_filter of ``input`` (``rank``: 0 is the smallest, -1 the largest),
    written to ``output``."""
    return _run("rank_filter", input, output, size, footprint, mode, cval, origin, axes, rank=rank, **options)


def percentile_filter(input: Any, percentile: float, size: Any = None, footprint: Any = None, output: Any = None,
                      mode: str = "reflect", cval: float = 0.0, origin: Any = 0, axes: Any = None,
                      **options: Any) -> Array:
    """scipy.ndimage.percentile_filter of ``input`` (``percentile`` in [-100, 100]),
    written to ``output``."""
    return _run("percentile_filter", input, output, size, footprint, mode, cval, origin, axes,
                percentile=percentile, **options)


def minimum_filter(input: Any, size: Any = None, footprint: Any = None, output: Any = None, mode: Any = "reflect",
                   cval: float = 0.0, origin: Any = 0, axes: Any = None, **options: Any) -> Array:
    """scipy.ndimage.minimum_filter of ``input`` (``mode`` may be one per axis), written to ``output``."""
    return _run("minimum_filter", input, output, size, footprint, mode, cval, origin, axes, **options)


def maximum_filter(input: Any, size: Any = None, footprint: Any = None, output: Any = None, mode: Any = "reflect",
                   cval: float = 0.0, origin: Any = 0, axes: Any = None, **options: Any) -> Array:
    """scipy.ndimage.maximum_filter of ``input`` (``mode`` may be one per axis), written to ``output``."""
    return _run("maximum_filter", input, output, size, footprint, mode, cval, origin, axes, **options)


for _f in (median_filter, rank_filter, percentile_filter, minimum_filter, maximum_filter):
    _f.__doc__ = (_f.__doc__ or "").rstrip() + "\n" + _OPTIONS_DOC
del _f
