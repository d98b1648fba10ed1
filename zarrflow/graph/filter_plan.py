"""Pure planning of order-statistic filters (median, rank, percentile, minimum,
maximum) over chunked arrays: the arguments checked and normalised as scipy.ndimage
reads them, and one task per group of whole output chunks saying which input region
(with its halo) it reads and how that region is extended at the array's edges.

Nothing here touches a store or imports dask. Slabs come from the one slab planner,
:func:`zarrflow.core.slabs.chunk_slabs` (whole output chunks under a byte budget,
advancing along an axis the filter does not reach across when there is one, so a
slice-by-slice filter reads whole slices and no halo along the slice axis).

Halo of an axis whose window has length ``k`` and origin ``o``: ``k // 2 + o`` items
before and ``k - 1 - (k // 2 + o)`` after (see :func:`kernels.halo`), whatever the chunk
size (a halo may span several chunks). Where the halo leaves the array, the border
mode decides what is there (:func:`kernels.extend_indices`): ``wrap`` reads the far
side of the array, ``constant`` puts ``cval``, the reflections read the items next to
the edge; a task whose region spans the whole axis reads no halo along it and lets the
kernel apply the mode.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from zarrflow.core.slabs import chunk_slabs
from zarrflow.graph.kernels import KERNELS, MODES, choose_kernel, extend_indices, halo

__all__ = ["OPERATIONS", "FilterSpec", "FilterTask", "filter_spec", "plan_filter"]

#: Public filter names -> the operation the kernels run.
OPERATIONS = {
    "median_filter": "median", "rank_filter": "rank", "percentile_filter": "percentile",
    "minimum_filter": "minimum", "maximum_filter": "maximum",
}
_MODE_ALIASES = {"grid-mirror": "reflect", "grid-wrap": "wrap", "grid-constant": "constant"}
#: Output bytes per task by default (input + halo and the kernel's result come on top).
DEFAULT_TASK_BYTES = 32 << 20


@dataclass(frozen=True, eq=False)
class FilterSpec:
    """A filter as the kernels run it, one entry per array axis.

    ``op``: ``"rank"``, ``"minimum"`` or ``"maximum"`` (a median or percentile is a
    rank; a rank of 0 or of the last point is a minimum/maximum, as in scipy);
    ``footprint``: boolean, ``ndim`` axes (length 1 along axes not filtered);
    ``origin``, ``mode``: one per axis; ``cval``: the constant of ``mode='constant'``.
    """

    name: str
    op: str
    rank: int
    footprint: np.ndarray
    origin: tuple[int, ...]
    mode: tuple[str, ...]
    cval: float
    kernel: str = "auto"

    @property
    def halos(self) -> tuple[tuple[int, int], ...]:
        """Items read before and after each output position, per axis."""
        return tuple(halo(k, o) for k, o in zip(self.footprint.shape, self.origin))

    @property
    def filtered_axes(self) -> tuple[int, ...]:
        """Axes the window reaches across (length > 1)."""
        return tuple(a for a, k in enumerate(self.footprint.shape) if k > 1)

    def kernel_mode(self) -> str | tuple[str, ...]:
        """The mode argument of the kernel: one string when every axis agrees."""
        return self.mode[0] if len(set(self.mode)) == 1 else self.mode


@dataclass(frozen=True)
class FilterTask:
    """One task: writes ``out_region`` (whole output chunks) of the filtered array.

    ``read``: per axis, the input items it reads (a slice, or sorted indices when
    the halo wraps to the far side). ``take``: per axis, None (the read as it is) or
    the positions in the read that make the extended block (-1: ``cval``).
    ``extended``: per axis, whether the block holds the halo (else the task spans the
    whole axis and the kernel applies the mode).
    """

    out_region: tuple[slice, ...]
    read: tuple[slice | tuple[int, ...], ...]
    take: tuple[tuple[int, ...] | None, ...]
    extended: tuple[bool, ...]

    def block_shape(self) -> tuple[int, ...]:
        """Shape of the block the kernel gets (input with halo)."""
        return tuple(len(t) if t is not None else (r.stop - r.start if isinstance(r, slice) else len(r))
                     for r, t in zip(self.read, self.take))


# --- arguments ---------------------------------------------------------------------------


def _check_dtype(dtype: np.dtype, name: str) -> None:
    if dtype.kind in "biu" or (dtype.kind == "f" and dtype.itemsize in (4, 8)):
        return
    if dtype.kind == "f":
        raise TypeError(f"{name}: dtype {dtype} is not supported by scipy.ndimage's rank filters "
                        "(float32 and float64 are); convert the input to float32 first")
    raise TypeError(f"{name}: dtype {dtype} is not supported (bool, integer, float32 and float64 arrays are)")


def _normalize_axes(axes: Any, ndim: int, name: str) -> tuple[int, ...]:
    if axes is None:
        return tuple(range(ndim))
    items = (axes,) if isinstance(axes, (int, np.integer)) else tuple(axes)
    out = []
    for a in items:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{name}: axes must be integers, got {a!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}: axis {a} is out of range for an array of {ndim} dimensions")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: axes {tuple(items)} name an axis twice")
    return tuple(out)


def _per_axis(value: Any, count: int, what: str, name: str) -> tuple:
    if isinstance(value, (str, int, float, np.integer, np.floating)):
        return (value,) * count
    items = tuple(value)
    if len(items) != count:
        raise ValueError(f"{name}: {what}={value!r} must be one value or {count} (one per filtered axis)")
    return items


def _check_cval(cval: Any, dtype: np.dtype, modes: tuple[str, ...], name: str) -> float:
    cval = float(cval)
    if "constant" in modes and dtype.kind in "biu":
        lo, hi = (0, 1) if dtype.kind == "b" else (np.iinfo(dtype).min, np.iinfo(dtype).max)
        if not lo <= cval <= hi:
            raise ValueError(f"{name}: cval={cval!r} is outside the range of {dtype} [{lo}, {hi}]; scipy's "
                             "result would depend on how C casts it, so zarrflow refuses it")
    return cval


def filter_spec(name: str, shape: tuple[int, ...], dtype: Any, size: Any = None, footprint: Any = None,
                mode: Any = "reflect", cval: Any = 0.0, origin: Any = 0, axes: Any = None,
                rank: Any = None, percentile: Any = None, kernel: str = "auto") -> FilterSpec:
    """Check and normalise the arguments of the scipy.ndimage filter ``name``
    (``"median_filter"``, ...) for an array of ``shape`` and ``dtype``; raises
    TypeError/ValueError naming the argument and value (before anything is written)."""
    if name not in OPERATIONS:
        raise ValueError(f"unknown filter {name!r}; one of {sorted(OPERATIONS)}")
    operation = OPERATIONS[name]
    dtype = np.dtype(dtype)
    _check_dtype(dtype, name)
    ndim = len(shape)
    if ndim == 0:
        raise ValueError(f"{name}: the input is 0-dimensional; filters need at least one axis")
    if kernel not in KERNELS:
        raise ValueError(f"{name}: kernel={kernel!r} is not one of {KERNELS}")
    axes_t = _normalize_axes(axes, ndim, name)
    n_axes = len(axes_t)
    if footprint is not None:
        if size is not None:
            warnings.warn("ignoring size because footprint is set", UserWarning, stacklevel=3)
        fp = np.asarray(footprint, dtype=bool)
        if fp.ndim != n_axes:
            raise ValueError(f"{name}: footprint has {fp.ndim} dimension(s) but the filter runs over {n_axes} "
                             f"axes {axes_t} of the input of shape {tuple(shape)}")
        if 0 in fp.shape or not fp.any():
            raise ValueError(f"{name}: the footprint {fp.shape} selects no point")
    else:
        if size is None:
            raise ValueError(f"{name}: give size or footprint")
        sizes = _per_axis(size, n_axes, "size", name)
        for s in sizes:
            if not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s < 1:
                raise ValueError(f"{name}: size={size!r} must hold positive integers")
        fp = np.ones(tuple(int(s) for s in sizes), dtype=bool)
    origins_f = _per_axis(origin, n_axes, "origin", name)
    for o in origins_f:
        if not isinstance(o, (int, np.integer)) or isinstance(o, bool):
            raise TypeError(f"{name}: origin must hold integers, got {o!r}")
    if isinstance(mode, str):
        modes_f = (mode,) * n_axes
    else:
        if operation in ("median", "rank", "percentile"):
            raise ValueError(f"{name}: a sequence of modes ({mode!r}) is not supported by non-separable rank "
                             "filters (scipy refuses it too); give one mode")
        modes_f = _per_axis(mode, n_axes, "mode", name)
    modes_f = tuple(_MODE_ALIASES.get(m, m) for m in modes_f)
    for m in modes_f:
        if m not in MODES:
            raise ValueError(f"{name}: mode={m!r} is not one of {MODES}")
    if operation in ("minimum", "maximum") and len(set(modes_f)) > 1 and not fp.all():
        raise ValueError(f"{name}: one mode per axis needs a rectangular (all-ones) footprint")
    # expand to one entry per array axis, placed exactly as scipy places them: the
    # separable minimum/maximum (all-ones window) zips sizes, origins and modes with
    # ``axes`` in the order given; otherwise the footprint's axes land on the filtered
    # axes in increasing order (np.expand_dims) and the origins follow ``axes`` when
    # some axes are left out, else go positionally
    separable = operation in ("minimum", "maximum") and bool(fp.all())
    fp_axes = axes_t if separable else tuple(sorted(axes_t))
    origin_axes = axes_t if (separable or n_axes < ndim) else tuple(range(ndim))
    full_fp_shape = [1] * ndim
    full_origin = [0] * ndim
    full_mode = [modes_f[0]] * ndim
    for i in range(n_axes):
        full_fp_shape[fp_axes[i]] = fp.shape[i]
        full_origin[origin_axes[i]] = int(origins_f[i])
        full_mode[axes_t[i] if separable else fp_axes[i]] = modes_f[i]
    full_fp = np.ones(full_fp_shape, dtype=bool) if separable else fp.reshape(full_fp_shape)
    for a in range(ndim):
        k, o = full_fp_shape[a], full_origin[a]
        if not -(k // 2) <= o <= k - 1 - k // 2:
            raise ValueError(f"{name}: origin {o} is out of range for the window of length {k} along axis {a} "
                             f"(it must lie in [{-(k // 2)}, {k - 1 - k // 2}])")
    points = int(full_fp.sum())
    op, r = _resolve_rank(name, operation, points, rank, percentile)
    cval = _check_cval(cval, dtype, tuple(full_mode[a] for a in axes_t), name)
    if kernel != "auto":  # a named kernel must be able to run this filter: refuse now, not in a task
        try:
            choose_kernel(np.zeros((1,) * ndim, dtype=dtype), op, r, full_fp, kernel)
        except ValueError as exc:
            raise ValueError(f"{name}: kernel={kernel!r}: {exc}") from None
    return FilterSpec(name=name, op=op, rank=r, footprint=np.ascontiguousarray(full_fp), origin=tuple(full_origin),
                      mode=tuple(full_mode), cval=cval, kernel=kernel)


def _resolve_rank(name: str, operation: str, points: int, rank: Any, percentile: Any) -> tuple[str, int]:
    """scipy's rules: the median is rank ``points // 2``; a percentile p is rank
    ``int(points * p / 100)`` (the last point for 100, p < 0 counts from 100); a
    negative rank counts from the end; rank 0 / the last rank are minimum / maximum."""
    if operation in ("minimum", "maximum"):
        return operation, 0 if operation == "minimum" else points - 1
    if operation == "median":
        r = points // 2
    elif operation == "percentile":
        p = float(percentile)
        if p < 0.0:
            p += 100.0
        if not 0 <= p <= 100:
            raise ValueError(f"{name}: percentile={percentile!r} must lie in [-100, 100]")
        r = points - 1 if p == 100.0 else int(float(points) * p / 100.0)
    else:
        if not isinstance(rank, (int, np.integer)) or isinstance(rank, bool):
            raise TypeError(f"{name}: rank must be an integer, got {rank!r}")
        r = int(rank)
    if r < 0:
        r += points
    if not 0 <= r < points:
        raise ValueError(f"{name}: rank={rank!r} is not within the footprint's {points} point(s)")
    if r == 0:
        return "minimum", 0
    if r == points - 1:
        return "maximum", r
    return "rank", r


# --- tasks -----------------------------------------------------------------------------


def _axis_read(n: int, region: slice, before: int, after: int, mode: str
               ) -> tuple[slice | tuple[int, ...], tuple[int, ...] | None, bool]:
    """What one task reads along one axis: ``(read, take, extended)``."""
    start, stop = region.start, region.stop
    if (before == 0 and after == 0) or (start == 0 and stop == n):
        return slice(start, stop), None, False
    idx = extend_indices(n, before, after, mode)[start: stop + before + after]  # positions start-before ..
    inside = idx[idx >= 0]
    lo, hi = int(inside.min()), int(inside.max()) + 1
    if len(inside) == len(idx) and np.array_equal(idx, np.arange(lo, hi)):
        return slice(lo, hi), None, True
    needed = np.unique(inside)
    if len(needed) == hi - lo:  # one run: read it as a slice
        take = np.where(idx >= 0, idx - lo, -1)
        return slice(lo, hi), tuple(int(t) for t in take), True
    take = np.where(idx >= 0, np.searchsorted(needed, np.maximum(idx, 0)), -1)
    return tuple(int(i) for i in needed), tuple(int(t) for t in take), True


def plan_filter(shape: tuple[int, ...], chunks: tuple[int, ...], itemsize: int, spec: FilterSpec,
                max_bytes: int = DEFAULT_TASK_BYTES) -> list[FilterTask]:
    """One task per slab of whole output chunks (``chunks``: the output's chunk shape)
    of at most about ``max_bytes`` of output, slabs advancing along the first axis the
    window does not reach across (axis 0 when it reaches across all)."""
    ndim = len(shape)
    free = [a for a in range(ndim) if a not in spec.filtered_axes]
    axis = free[0] if free else 0
    halos = spec.halos
    out = []
    for region in chunk_slabs(tuple(shape), tuple(chunks), itemsize, max_bytes, axis=axis):
        reads, takes, ext = [], [], []
        for a in range(ndim):
            r, t, e = _axis_read(shape[a], region[a], *halos[a], spec.mode[a])
            reads.append(r)
            takes.append(t)
            ext.append(e)
        out.append(FilterTask(tuple(region), tuple(reads), tuple(takes), tuple(ext)))
    return out


def task_bytes(task: FilterTask, itemsize: int) -> int:
    """Bytes one task holds at its peak: the block with halo, the kernel's result of
    the same shape, and the cropped output."""
    block = math.prod(task.block_shape()) * itemsize
    out = math.prod(s.stop - s.start for s in task.out_region) * itemsize
    return 2 * block + out


def describe(spec: FilterSpec, shape: Sequence[int], tasks: Sequence[FilterTask], itemsize: int) -> str:
    """One line for the command line: the window, halo and task count."""
    window = "x".join(str(k) for k in spec.footprint.shape)
    halos = ", ".join(f"{b}+{a}" for b, a in spec.halos)
    peak = max((task_bytes(t, itemsize) for t in tasks), default=0)
    return (f"{spec.name}: window {window} over shape {tuple(shape)}, halo (before+after) per axis [{halos}], "
            f"{len(tasks)} task(s), at most {peak / 2**20:.1f} MiB per task")
