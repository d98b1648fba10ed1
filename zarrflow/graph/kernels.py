"""Order-statistic filter kernels on in-memory blocks: scipy.ndimage, OpenCV when it is
installed, and a vectorised NumPy selection; every path gives scipy.ndimage's result.

Pure NumPy/scipy/OpenCV, no zarrflow imports. A *block* arrives from the planner
(``graph/filter_plan.py``) either *extended* along an axis (it already holds the
window's halo there: read from neighbouring chunks or made by the border mode; the
kernel keeps only the positions whose windows lie wholly inside) or not (the block
spans the whole array along that axis, and the kernel applies the border mode itself).

Kernel choice (``kernel="auto"``), all exact against scipy (tests/graph/test_kernels.py):

- ``opencv``: a median (``cv2.medianBlur``) or minimum/maximum (``cv2.erode``/``dilate``
  with a rectangle) over the two last-moved axes of an all-ones 2-D window, each slice
  padded first by NumPy/OpenCV per scipy's border mode so the window never meets
  OpenCV's own border. medianBlur: odd square windows; uint8 any size, uint16 and
  float32 sizes 3 and 5. erode/dilate: uint8, uint16, int16, float32, float64.
- ``numpy``: any rank over a footprint of at most ``PARTITION_MAX`` points (e.g. the
  3 x 3 x 3 median). A median over an odd number of points runs a vectorised
  *forgetful selection* (of the first ``n // 2 + 2`` values drop the smallest and the
  largest, which cannot be the median, add the next value, repeat; the median of the
  last three is the result) with ``np.minimum``/``np.maximum`` on cache-sized batches
  of output rows: about 10x scipy on 3 x 3 x 3, 3 x 3 and 7 x 7 windows. Other
  ranks: ``np.partition`` over the footprint's points, a bounded number of output
  rows at a time.
- ``scipy``: everything else (``scipy.ndimage.rank_filter``/``minimum_filter``/
  ``maximum_filter``), any float block holding NaN (OpenCV and NumPy order NaN
  differently from scipy's comparisons) and any 64-bit integer block holding values
  beyond +-2**53 (scipy's rank code rounds them through float64; with
  ``kernel='numpy'`` the exact order statistic comes out instead).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.ndimage as ndi
from numpy.lib.stride_tricks import sliding_window_view

try:  # optional fast kernels
    import cv2
except ImportError:  # pragma: no cover - exercised where OpenCV is absent
    cv2 = None

__all__ = ["KERNELS", "MODES", "PARTITION_MAX", "choose_kernel", "extend_indices", "filter_block", "halo",
           "opencv_available"]

#: scipy's border modes for filters (the ``grid-`` spellings are aliases there too).
MODES = ("reflect", "nearest", "mirror", "constant", "wrap")
KERNELS = ("auto", "scipy", "opencv", "numpy")
#: Largest footprint (points) the NumPy selection kernel takes (it holds that many
#: copies of a few output rows at a time).
PARTITION_MAX = 64
_ROW_BYTES = 16 << 20  # np.partition: gathered window values per batch of rows
_BATCH_ITEMS = 1 << 15  # forgetful selection: output items per batch (its ~n/2 buffers stay in cache)

_CV_BORDER = {} if cv2 is None else {
    "reflect": cv2.BORDER_REFLECT, "mirror": cv2.BORDER_REFLECT_101, "nearest": cv2.BORDER_REPLICATE,
    "wrap": cv2.BORDER_WRAP, "constant": cv2.BORDER_CONSTANT,
}
_CV_MORPH_DTYPES = (np.dtype("u1"), np.dtype("u2"), np.dtype("i2"), np.dtype("f4"), np.dtype("f8"))


def opencv_available() -> bool:
    """True when OpenCV (``opencv-python-headless``) can be imported."""
    return cv2 is not None


def halo(length: int, origin: int) -> tuple[int, int]:
    """Items a window of ``length`` with ``origin`` reaches before and after its output
    position (scipy's placement: ``origin`` > 0 moves the window towards lower indices)."""
    before = length // 2 + origin
    return before, length - 1 - before


def extend_indices(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """For the positions ``-before .. n + after - 1`` of an axis of length ``n``, the
    index of the array item scipy.ndimage's border ``mode`` puts there, or -1 where
    ``mode='constant'`` puts ``cval``. Works for halos longer than the axis (the
    reflections repeat)."""
    p = np.arange(-before, n + after, dtype=np.int64)
    if mode == "constant":
        return np.where((p >= 0) & (p < n), p, -1)
    if mode == "nearest":
        return np.clip(p, 0, n - 1)
    if mode == "wrap":
        return p % n
    if mode == "reflect":  # d c b a | a b c d | d c b a
        q = p % (2 * n)
        return np.where(q >= n, 2 * n - 1 - q, q)
    if mode == "mirror":  # d c b | a b c d | c b a
        if n == 1:
            return np.zeros_like(p)
        q = p % (2 * n - 2)
        return np.where(q >= n, 2 * n - 2 - q, q)
    raise ValueError(f"mode={mode!r} is not one of {MODES}")


def _pad(block: np.ndarray, pads: Sequence[tuple[int, int]], modes: Sequence[str], cval: float) -> np.ndarray:
    """``block`` extended by ``pads`` per axis as scipy's ``modes`` extend it."""
    out = block
    for axis, ((before, after), mode) in enumerate(zip(pads, modes)):
        if before == 0 and after == 0:
            continue
        idx = extend_indices(out.shape[axis], before, after, mode)
        out = np.take(out, np.maximum(idx, 0), axis=axis)
        if mode == "constant":
            where = [slice(None)] * out.ndim
            where[axis] = idx < 0
            out[tuple(where)] = cval
    return out


def _crop(result: np.ndarray, windows: Sequence[int], origin: Sequence[int], extended: Sequence[bool]) -> np.ndarray:
    """Keep, along extended axes, the positions whose window lies inside the block."""
    index = []
    for n, k, o, ext in zip(result.shape, windows, origin, extended):
        before, after = halo(k, o)
        index.append(slice(before, n - after) if ext else slice(None))
    return result[tuple(index)]


def _has_nan(block: np.ndarray) -> bool:
    return block.dtype.kind == "f" and bool(np.isnan(block).any())


def _beyond_float64(block: np.ndarray) -> bool:
    """True for 64-bit integers beyond +-2**53: scipy's rank code goes through float64
    there and returns rounded values, which only scipy's own kernel reproduces."""
    if block.dtype.kind not in "iu" or block.dtype.itemsize < 8 or not block.size:
        return False
    return bool(block.min() < -(2**53) or block.max() > 2**53)


def _filter_axes(footprint: np.ndarray) -> list[int]:
    return [a for a, k in enumerate(footprint.shape) if k > 1]


def _opencv_fits(block: np.ndarray, op: str, rank: int, footprint: np.ndarray) -> bool:
    if cv2 is None or block.ndim < 2 or not block.dtype.isnative:
        return False
    axes = _filter_axes(footprint)
    if not 1 <= len(axes) <= 2 or not footprint.all():
        return False
    if op == "rank":
        if len(axes) != 2 or rank != footprint.size // 2:
            return False
        k = footprint.shape[axes[0]]
        if footprint.shape[axes[1]] != k or k % 2 == 0:
            return False
        return block.dtype == np.uint8 or (block.dtype in (np.uint16, np.float32) and k in (3, 5))
    return block.dtype in _CV_MORPH_DTYPES


def _opencv_rejection(block: np.ndarray, op: str, rank: int, footprint: np.ndarray) -> str:
    """Why the OpenCV kernel cannot compute this filter (for ``kernel='opencv'``)."""
    if cv2 is None:
        return "OpenCV is not installed (pip install 'zarrflow[filters]')"
    if op == "rank":
        k = footprint.shape
        return (f"cv2.medianBlur computes medians over odd square windows only (uint8: any odd size; uint16 "
                f"and float32: 3 or 5), not a {'x'.join(map(str, k))} "
                f"{'footprint' if not footprint.all() else 'window'} of {block.dtype} with rank {rank}")
    return (f"cv2.erode/dilate take all-ones windows over at most 2 axes of uint8/uint16/int16/float32/float64, "
            f"not a {'x'.join(map(str, footprint.shape))} footprint of {block.dtype}")


def choose_kernel(block: np.ndarray, op: str, rank: int, footprint: np.ndarray, kernel: str = "auto") -> str:
    """The kernel that computes this filter on ``block``: ``kernel`` itself when it is
    named (a ValueError when it cannot), else the fastest exact one."""
    if kernel not in KERNELS:
        raise ValueError(f"kernel={kernel!r} is not one of {KERNELS}")
    nan = _has_nan(block)
    if kernel == "opencv":
        if not _opencv_fits(block, op, rank, footprint):
            raise ValueError(_opencv_rejection(block, op, rank, footprint))
        return "scipy" if nan else "opencv"
    if kernel == "numpy":
        if int(footprint.sum()) > PARTITION_MAX:
            raise ValueError(f"the numpy kernel takes footprints of at most {PARTITION_MAX} points, "
                             f"not {int(footprint.sum())}")
        return "scipy" if nan else "numpy"
    if kernel == "scipy" or nan or _beyond_float64(block):
        return "scipy"
    if _opencv_fits(block, op, rank, footprint):
        return "opencv"
    if op == "rank" and int(footprint.sum()) <= PARTITION_MAX:
        return "numpy"
    return "scipy"


def filter_block(block: np.ndarray, op: str, rank: int, footprint: np.ndarray, origin: Sequence[int],
                 mode: str | Sequence[str], cval: float, extended: Sequence[bool], kernel: str = "auto"
                 ) -> np.ndarray:
    """The order-statistic filter of ``block``, cropped along ``extended`` axes.

    ``op``: ``"rank"`` (the ``rank``-th smallest value under ``footprint``),
    ``"minimum"`` or ``"maximum"``. ``footprint``: a boolean array with one axis per
    block axis; ``origin``: one int per axis; ``mode``: scipy's border mode (one per
    axis allowed for minimum/maximum); ``extended``: per axis, whether ``block`` holds
    the halo already (then the result is shorter by the window length minus one).
    """
    footprint = np.asarray(footprint, dtype=bool)
    origin = tuple(int(o) for o in origin)
    modes = (mode,) * block.ndim if isinstance(mode, str) else tuple(mode)
    chosen = choose_kernel(block, op, rank, footprint, kernel)
    if chosen == "scipy":
        return _crop(_scipy(block, op, rank, footprint, origin, mode, cval), footprint.shape, origin, extended)
    # the fast kernels see only "valid" windows: pad every axis not extended yet
    pads = [(0, 0) if ext else halo(k, o) for k, o, ext in zip(footprint.shape, origin, extended)]
    if chosen == "opencv":
        return _opencv(block, op, footprint, origin, pads, modes, cval)
    padded = _pad(block, pads, modes, cval)
    if rank == int(footprint.sum()) // 2 and int(footprint.sum()) % 2 == 1:
        return _forgetful_median(padded, footprint)
    return _partition(padded, rank, footprint, origin)


def _scipy(block: np.ndarray, op: str, rank: int, footprint: np.ndarray, origin: tuple[int, ...],
           mode: str | Sequence[str], cval: float) -> np.ndarray:
    if op == "minimum":
        return ndi.minimum_filter(block, footprint=footprint, mode=mode, cval=cval, origin=origin)
    if op == "maximum":
        return ndi.maximum_filter(block, footprint=footprint, mode=mode, cval=cval, origin=origin)
    if block.ndim == 1:  # scipy's 1-D rank path returns values not in the input when the window
        # is longer than the line (scipy gh-23293 area); its n-D path, taken for a 2-D view, does not
        return ndi.rank_filter(block[None], rank, footprint=footprint[None], mode=mode, cval=cval,
                               origin=(0, *origin))[0]
    return ndi.rank_filter(block, rank, footprint=footprint, mode=mode, cval=cval, origin=origin)


def _opencv(block: np.ndarray, op: str, footprint: np.ndarray, origin: tuple[int, ...],
            pads: list[tuple[int, int]], modes: tuple[str, ...], cval: float) -> np.ndarray:
    """Slice by slice over the (one or two) window axes, moved last."""
    axes = _filter_axes(footprint)
    if len(axes) == 1:  # a 1-D window: a second axis of length 1
        last = axes[0]
        other = next(a for a in range(block.ndim) if a != last)
        axes = [other, last]
    rest = [a for a in range(block.ndim) if a not in axes]
    order = rest + axes
    moved = np.moveaxis(block, order, range(block.ndim))
    (ky, kx) = (footprint.shape[axes[0]], footprint.shape[axes[1]])
    pad2 = [pads[axes[0]], pads[axes[1]]]
    mode2 = [modes[axes[0]], modes[axes[1]]]
    lead = moved.shape[:len(rest)]
    ny = moved.shape[-2] + sum(pad2[0]) - ky + 1
    nx = moved.shape[-1] + sum(pad2[1]) - kx + 1
    out = np.empty(lead + (ny, nx), dtype=block.dtype)
    rect = np.ones((ky, kx), dtype=np.uint8)
    for index in np.ndindex(*lead):
        plane = _pad2d(np.ascontiguousarray(moved[index]), pad2, mode2, cval)
        if op == "rank":
            result = cv2.medianBlur(plane, kx)
        elif op == "minimum":
            result = cv2.erode(plane, rect, borderType=cv2.BORDER_REPLICATE)
        else:
            result = cv2.dilate(plane, rect, borderType=cv2.BORDER_REPLICATE)
        out[index] = result[ky // 2: ky // 2 + ny, kx // 2: kx // 2 + nx]
    return np.moveaxis(out, range(block.ndim), order)


def _pad2d(plane: np.ndarray, pads: list[tuple[int, int]], modes: list[str], cval: float) -> np.ndarray:
    """A 2-D plane padded per scipy's modes: OpenCV's copyMakeBorder where it is the same
    extension (one mode, halos shorter than the plane), else NumPy."""
    (top, bottom), (left, right) = pads
    if not (top or bottom or left or right):
        return plane
    ny, nx = plane.shape
    short = max(top, bottom) < ny and max(left, right) < nx
    if modes[0] == modes[1] and short and (modes[0] != "mirror" or min(ny, nx) > 1):
        return cv2.copyMakeBorder(plane, top, bottom, left, right, _CV_BORDER[modes[0]],
                                  value=_cv_value(plane.dtype, cval))
    return np.ascontiguousarray(_pad(plane, pads, modes, cval))


def _cv_value(dtype: np.dtype, cval: float) -> float:
    return float(np.asarray(cval).astype(dtype))


def _partition(padded: np.ndarray, rank: int, footprint: np.ndarray, origin: tuple[int, ...]) -> np.ndarray:
    """The ``rank``-th value over the footprint's points by ``np.partition``, over the
    valid windows of ``padded``, a batch of rows along the first axis at a time."""
    windows = sliding_window_view(padded, footprint.shape)
    out_shape = windows.shape[:padded.ndim]
    out = np.empty(out_shape, dtype=padded.dtype)
    if not out.size:
        return out
    points = int(footprint.sum())
    per_row = max(1, out.size // max(out_shape[0], 1)) * points * padded.dtype.itemsize
    step = max(1, _ROW_BYTES // per_row)
    for start in range(0, out_shape[0], step):
        part = windows[start:start + step]
        if footprint.all():  # (..., points), points contiguous: a copy either way
            gathered = part.reshape(part.shape[:padded.ndim] + (points,))
        else:
            gathered = np.ascontiguousarray(part[(Ellipsis, *np.nonzero(footprint))])
        if not gathered.flags.writeable:  # reshape gave a view of the read-only windows
            gathered = gathered.copy()
        gathered.partition(rank, axis=-1)
        out[start:start + step] = gathered[..., rank]
    return out


def _cswap(work: list[np.ndarray], i: int, j: int, spare: np.ndarray) -> np.ndarray:
    """``work[i], work[j] = min, max`` of the two (in place, through ``spare``); returns the new spare."""
    a, b = work[i], work[j]
    np.minimum(a, b, out=spare)
    np.maximum(a, b, out=b)
    work[i] = spare
    return a


def _drop_extremes(work: list[np.ndarray], spare: np.ndarray
                   ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """``work`` without (item by item) its smallest and its largest value: pairwise
    compare-swaps put lows at even and highs at odd places, a chain over the lows moves
    the minimum to place 0 and one over the highs the maximum to the last high.
    Returns the kept buffers, the spare and the minimum's (now free) buffer."""
    k = len(work)
    for i in range(0, k - 1, 2):
        spare = _cswap(work, i, i + 1, spare)
    lows, highs = list(range(0, k - 1, 2)), list(range(1, k, 2))
    if k % 2:  # the unpaired last value may be either
        lows.append(k - 1)
        highs.append(k - 1)
    for j in lows[1:]:
        spare = _cswap(work, 0, j, spare)
    top = highs[-1]
    for j in highs[:-1]:
        spare = _cswap(work, j, top, spare)
    return [w for i, w in enumerate(work) if i not in (0, top)], spare, work[0]


def _forgetful_median(padded: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """The median over an odd number of footprint points at every valid window of
    ``padded`` by forgetful selection, in batches of output rows (last axis whole)."""
    offsets = [tuple(int(v) for v in o) for o in np.argwhere(footprint)]
    n = len(offsets)
    m = (n + 1) // 2 + 1
    out_shape = tuple(p - k + 1 for p, k in zip(padded.shape, footprint.shape))
    out = np.empty(out_shape, dtype=padded.dtype)
    if not out.size:
        return out
    nd = padded.ndim
    width = out_shape[-1]
    if nd == 1:
        batches = [((), slice(0, width))]
    else:
        rows = max(1, _BATCH_ITEMS // width)
        batches = [(lead, slice(r, min(r + rows, out_shape[-2])))
                   for lead in np.ndindex(*out_shape[:-2]) for r in range(0, out_shape[-2], rows)]
    for lead, rows_sel in batches:
        def view(off: tuple[int, ...], lead: tuple = lead, rows_sel: slice = rows_sel) -> np.ndarray:
            index = [lead[a] + off[a] for a in range(len(lead))]
            if nd >= 2:
                index.append(slice(rows_sel.start + off[-2], rows_sel.stop + off[-2]))
            index.append(slice(off[-1], off[-1] + width) if nd >= 2 else slice(rows_sel.start + off[-1],
                                                                              rows_sel.stop + off[-1]))
            return padded[tuple(index)]

        work = [np.array(view(o)) for o in offsets[:m]]
        spare = np.empty_like(work[0])
        for off in offsets[m:]:
            work, spare, free = _drop_extremes(work, spare)
            np.copyto(free, view(off))
            work.append(free)
        a, b, c = work
        lo = np.minimum(a, b)
        np.maximum(a, b, out=a)
        np.minimum(a, c, out=a)
        np.maximum(lo, a, out=lo)
        out[(*lead, rows_sel)] = lo
    return out
