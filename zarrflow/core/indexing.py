"""Selections to per-chunk projections, with zarr-python 2.x semantics. Pure: no I/O.

An indexer turns a user selection over an array of ``shape`` split into ``chunks``
into :class:`ChunkProjection` items, one per chunk touched. Reading is then::

    out = np.empty(indexer.shape)
    for p in indexer:
        part = decoded_chunk(p.chunk_coords)[p.chunk_selection]
        out[p.out_selection] = part.squeeze(indexer.drop_axes)
    result = out.reshape(indexer.sel_shape)

All work over selected items is vectorised with numpy; Python loops run over chunks.
"""

from __future__ import annotations

import itertools
import numbers
import reprlib
from collections.abc import Iterator
from typing import Any, NamedTuple, Protocol

import numpy as np

from zarrflow.core.chunks import grid_shape
from zarrflow.errors import (
    ArrayIndexError,
    BoundsCheckError,
    NegativeStepError,
    err_too_many_indices,
)

Shape = tuple[int, ...]


class ChunkProjection(NamedTuple):
    """How one chunk contributes to a selection.

    ``out[out_selection] = chunk[chunk_selection]`` (after squeezing the indexer's
    ``drop_axes``), where ``chunk`` has the full chunk shape even at the array edge.
    """

    chunk_coords: tuple[int, ...]
    chunk_selection: tuple
    out_selection: tuple | np.ndarray | slice
    is_complete: bool


class Indexer(Protocol):
    """What every indexer provides: output shape, axes to squeeze, and projections."""

    shape: tuple[int, ...]
    drop_axes: tuple[int, ...]
    sel_shape: tuple[int, ...]

    def __iter__(self) -> Iterator[ChunkProjection]:
        """Yield one projection per chunk touched by the selection."""
        ...


# --- predicates ------------------------------------------------------------------------

_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60


def _describe(x: Any) -> str:
    """A short description of a selection item for error messages."""
    if isinstance(x, np.ndarray):
        if x.size <= 10:
            return repr(x)
        return f"array of shape {x.shape} and dtype {x.dtype}"
    return _repr.repr(x)


def is_integer(x: Any) -> bool:
    """True for Python and numpy integers (Python ``bool`` counts, as in zarr 2)."""
    return isinstance(x, numbers.Integral)


def is_integer_list(x: Any) -> bool:
    """True for a non-empty list whose first element is an integer."""
    return isinstance(x, list) and len(x) > 0 and is_integer(x[0])


def is_integer_array(x: Any, ndim: int | None = None) -> bool:
    """True for an integer-dtype array (optionally with ``ndim`` dimensions)."""
    t = not np.isscalar(x) and hasattr(x, "shape") and hasattr(x, "dtype") and x.dtype.kind in "ui"
    if ndim is not None:
        t = t and len(x.shape) == ndim
    return bool(t)


def is_bool_array(x: Any, ndim: int | None = None) -> bool:
    """True for a Boolean-dtype array (optionally with ``ndim`` dimensions)."""
    t = hasattr(x, "shape") and hasattr(x, "dtype") and x.dtype == bool
    if ndim is not None:
        t = t and len(x.shape) == ndim
    return bool(t)




def _is_index_array(x: Any) -> bool:
    return is_integer_list(x) or is_integer_array(x)


def is_basic_selection(selection: Any) -> bool:
    """True if every item is an integer or a slice with positive (or no) step."""
    return all(
        is_integer(s) or (isinstance(s, slice) and (s.step is None or s.step >= 1))
        for s in ensure_tuple(selection)
    )




def is_scalar(value: Any, dtype: np.dtype) -> bool:
    """True when ``value`` is one item of ``dtype`` (zarr 2's rule, incl. object items)."""
    if np.isscalar(value):
        return True
    if hasattr(value, "shape") and value.shape == ():
        return True
    if isinstance(value, tuple) and dtype.names and len(value) == len(dtype.names):
        return True
    return dtype.kind == "O" and not isinstance(value, np.ndarray)


def is_contiguous_selection(selection: Any) -> bool:
    """True if every item is an integer array, a step-1 slice or Ellipsis (zarr 2's helper)."""
    return all(
        is_integer_array(s) or (isinstance(s, slice) and s.step in (None, 1)) or s is Ellipsis
        for s in ensure_tuple(selection)
    )


def is_pure_fancy_indexing(selection: Any, ndim: int) -> bool:
    """True if ``selection`` holds only integers and integer arrays/lists, at least one
    array, one item per axis (zarr 2.18: ``Array.__getitem__`` sends it to vindex)."""
    if ndim == 1 and (is_integer_list(selection) or is_integer_array(selection)):
        return True
    if not (isinstance(selection, tuple) and len(selection) == ndim):
        return False
    return all(is_integer(s) or _is_index_array(s) for s in selection) and any(
        _is_index_array(s) for s in selection
    )


def is_pure_orthogonal_indexing(selection: Any, ndim: int) -> bool:
    """True if ``selection`` is one integer array/list, or one item per axis of which
    at most one is an integer array/list and the rest integers or slices
    (zarr 2.18: ``Array.__getitem__`` sends it to orthogonal selection)."""
    if not ndim:
        return False
    if is_integer_list(selection) or is_integer_array(selection, ndim=1):
        return True
    return (
        isinstance(selection, tuple)
        and len(selection) == ndim
        and sum(_is_index_array(s) for s in selection) <= 1
        and all(_is_index_array(s) or is_integer(s) or isinstance(s, slice) for s in selection)
    )


def is_coordinate_selection(selection: Any, shape: Shape) -> bool:
    """True if ``selection`` is one integer or integer array per axis of ``shape``."""
    selection = replace_lists(ensure_tuple(selection))
    return (
        len(shape) > 0
        and len(selection) == len(shape)
        and all(is_integer(s) or is_integer_array(s) for s in selection)
    )


def is_mask_selection(selection: Any, shape: Shape) -> bool:
    """True if ``selection`` is a single Boolean array with exactly ``shape``."""
    selection = replace_lists(ensure_tuple(selection))
    return (
        len(selection) == 1
        and is_bool_array(selection[0])
        and tuple(selection[0].shape) == tuple(shape)
    )


def is_total_slice(item: Any, shape: Shape) -> bool:
    """True if ``item`` (Ellipsis, a slice, or a tuple of them) selects all of ``shape``
    in natural order. An integer 0 on a length-1 axis counts as total (zarr 2)."""
    if item is Ellipsis:
        return True
    if isinstance(item, slice):
        item = (item,)
    if not isinstance(item, tuple):
        raise TypeError(f"expected slice or tuple of slices, found {_describe(item)}")
    try:
        item = replace_ellipsis(item, shape)
    except IndexError:
        return False
    for it, n in zip(item, shape):
        if isinstance(it, slice):
            if it.step not in (None, 1):
                return False
            start = 0 if it.start is None else it.start
            stop = n if it.stop is None else it.stop
            if not (is_integer(start) and is_integer(stop)):
                return False
            if start != 0 or stop < n:
                return False
        elif not (is_integer(it) and it in (0, -1) and n == 1):
            return False
    return True


# --- normalisation ---------------------------------------------------------------------


def ensure_tuple(v: Any) -> tuple:
    """``v`` if it is a tuple, else ``(v,)``."""
    return v if isinstance(v, tuple) else (v,)


def replace_lists(selection: tuple) -> tuple:
    """Replace Python lists by arrays (an empty list becomes an empty integer array)."""
    return tuple(
        (np.asarray(s) if s else np.empty(0, dtype=np.intp)) if isinstance(s, list) else s
        for s in selection
    )


def replace_ellipsis(selection: Any, shape: Shape) -> tuple:
    """Expand ``...`` and pad with full slices to one item per axis of ``shape``."""
    selection = ensure_tuple(selection)
    where = [i for i, s in enumerate(selection) if s is Ellipsis]
    if len(where) > 1:
        raise ArrayIndexError(
            f"an index can only have a single ellipsis ('...'); got {len(where)} in "
            f"{_describe(selection)}"
        )
    if where:
        i = where[0]
        fill = max(0, len(shape) - (len(selection) - 1))
        selection = selection[:i] + (slice(None),) * fill + selection[i + 1 :]
    if len(selection) > len(shape):
        raise err_too_many_indices(selection, shape)
    return selection + (slice(None),) * (len(shape) - len(selection))


def normalize_integer_selection(dim_sel: Any, dim_len: int, axis: int | None = None) -> int:
    """Return ``dim_sel`` as a non-negative int, wrapping negatives; bounds-checked."""
    if isinstance(dim_sel, np.ndarray) and dim_sel.ndim == 0 and dim_sel.dtype.kind in "ui":
        dim_sel = dim_sel.item()
    if not is_integer(dim_sel):
        raise ArrayIndexError(f"expected an integer index, got {_describe(dim_sel)}")
    i = int(dim_sel)
    j = i + dim_len if i < 0 else i
    if not 0 <= j < dim_len:
        raise BoundsCheckError(dim_len, i, axis)
    return j


def make_slice_selection(selection: Any) -> list:
    """Turn integers and length-1 integer arrays into length-1 slices (other items
    are kept); raises ArrayIndexError for longer arrays."""
    out: list = []
    for s in ensure_tuple(selection):
        if is_integer(s):
            out.append(slice(int(s), int(s) + 1, 1))
        elif isinstance(s, np.ndarray):
            if s.size != 1:
                raise ArrayIndexError(
                    f"cannot express {_describe(s)} as a slice; expected one element"
                )
            v = int(s.reshape(-1)[0])
            out.append(slice(v, v + 1, 1))
        else:
            out.append(s)
    return out


def _negative_step(sel: slice) -> NegativeStepError:
    err = NegativeStepError()
    err.args = (f"{err.args[0]}; got {sel!r}",)
    return err


def _slice_indices(sel: slice, dim_len: int, axis: int) -> tuple[int, int, int]:
    """``sel.indices(dim_len)`` with step >= 1, raising our errors."""
    for part in (sel.start, sel.stop, sel.step):
        if part is not None and not is_integer(part):
            raise ArrayIndexError(
                f"slice {sel!r} along axis {axis} has a non-integer bound {_describe(part)}"
            )
    if sel.step is not None and sel.step < 1:
        raise _negative_step(sel)
    return sel.indices(dim_len)


def _int_index_array(arr: np.ndarray, dim_len: int, axis: int) -> np.ndarray:
    """Integer array as intp, negatives wrapped, bounds-checked; never modifies ``arr``."""
    if arr.size == 0:
        return np.zeros(arr.shape, dtype=np.intp)
    lo, hi = arr.min(), arr.max()
    if arr.dtype.kind == "u":
        if hi >= dim_len:
            raise BoundsCheckError(dim_len, int(arr[arr >= dim_len].flat[0]), axis)
        return arr.astype(np.intp, copy=False)
    if lo < -dim_len or hi >= dim_len:
        bad = (arr < -dim_len) | (arr >= dim_len)
        raise BoundsCheckError(dim_len, int(arr[bad].flat[0]), axis)
    out = arr.astype(np.intp, copy=False)
    if lo < 0:
        out = np.where(out < 0, out + dim_len, out)
    return out


def _ceildiv(a: int, b: int) -> int:
    return -(-a // b)


def _normalize_geometry(shape: Any, chunks: Any) -> tuple[Shape, Shape]:
    shape = tuple(int(s) for s in shape)
    chunks = tuple(int(c) for c in chunks)
    if len(shape) != len(chunks):
        raise ValueError(f"shape {shape} and chunks {chunks} have different lengths")
    if any(c < 1 for c in chunks):
        raise ValueError(f"chunk lengths must be >= 1, got {chunks}")
    return shape, chunks


# --- per-dimension projections ---------------------------------------------------------


class _DimProj(NamedTuple):
    chunk_ix: int
    chunk_sel: Any  # int, slice or 1-D intp array
    out_sel: Any  # None (integer axis), slice or 1-D intp array
    complete: bool


def _int_dim(i: int, dim_len: int, c: int) -> list[_DimProj]:
    ci, off = divmod(i, c)
    inbound = min(c, dim_len - ci * c)
    return [_DimProj(ci, off, None, inbound == 1)]


def _slice_dim(sel: slice, dim_len: int, c: int, axis: int) -> tuple[int, list[_DimProj]]:
    start, stop, step = _slice_indices(sel, dim_len, axis)
    n = len(range(start, stop, step))
    if n == 0:
        return 0, []
    last = start + (n - 1) * step
    if step >= c:  # at most one item per chunk: the chunks are those of the items
        chunk_ixs = ((start + step * k) // c for k in range(n))
    else:  # every chunk between the first and last item holds at least one item
        chunk_ixs = range(start // c, last // c + 1)
    projs = []
    for ci in chunk_ixs:
        offset = ci * c
        limit = min(dim_len, offset + c)
        k0 = max(0, _ceildiv(offset - start, step))
        k1 = min(n - 1, (limit - 1 - start) // step)
        count = k1 - k0 + 1
        first = start + k0 * step - offset
        last_in = start + k1 * step - offset
        complete = first == 0 and count == limit - offset and (step == 1 or count == 1)
        projs.append(_DimProj(ci, slice(first, last_in + 1, step), slice(k0, k1 + 1), complete))
    return n, projs


def _array_dim(idx: np.ndarray, dim_len: int, c: int) -> list[_DimProj]:
    """Projections of normalised 1-D intp indices (any order, duplicates allowed)."""
    n = idx.size
    if n == 0:
        return []
    cid = idx // c
    if n < 2 or bool(np.all(cid[1:] >= cid[:-1])):
        order = None
        sidx, scid = idx, cid
    else:
        order = np.argsort(cid, kind="stable")
        sidx, scid = idx[order], cid[order]
    bounds = (np.flatnonzero(scid[1:] != scid[:-1]) + 1).tolist()
    starts, ends = [0, *bounds], [*bounds, n]
    projs = []
    for s, e, ci in zip(starts, ends, scid[starts].tolist()):
        offset = ci * c
        inbound = min(c, dim_len - offset)
        csel = sidx[s:e] - offset
        complete = e - s == inbound and bool(np.array_equal(csel, np.arange(inbound)))
        osel = slice(s, e) if order is None else order[s:e]
        projs.append(_DimProj(ci, csel, osel, complete))
    return projs


def _as_index_array(s: Any) -> np.ndarray:
    """A 1-D intp array equivalent to a per-axis item (int, concrete slice, array)."""
    if isinstance(s, slice):
        return np.arange(s.start or 0, s.stop, s.step or 1, dtype=np.intp)
    if isinstance(s, np.ndarray):
        return s
    return np.array([s], dtype=np.intp)


def _ix(items: list) -> tuple:
    """Like ``np.ix_`` for ints, concrete slices and 1-D arrays: an outer-product index."""
    arrs = [_as_index_array(s) for s in items]
    nd = len(arrs)
    return tuple(a.reshape((1,) * i + (-1,) + (1,) * (nd - i - 1)) for i, a in enumerate(arrs))


# --- indexers over a product of axes ---------------------------------------------------


class _ProductIndexer:
    """Shared iteration for indexers whose projections are a product over axes."""

    shape: Shape
    sel_shape: Shape
    drop_axes: Shape

    def _setup(self, kinds: list[str], sizes: list[int], dims: list[list[_DimProj]]) -> None:
        self._kinds = kinds
        self._dims = dims
        self.shape = tuple(n for k, n in zip(kinds, sizes) if k != "int")
        self.sel_shape = self.shape
        n_arrays = kinds.count("array")
        advanced = n_arrays > 0
        self.drop_axes = tuple(i for i, k in enumerate(kinds) if k == "int") if advanced else ()
        # numpy keeps a lone advanced index in place among slices; anything more
        # (two arrays, or an array with an integer) needs an outer product
        self._ix_chunk = advanced and (n_arrays > 1 or bool(self.drop_axes))

    def __iter__(self) -> Iterator[ChunkProjection]:
        """Yield one :class:`ChunkProjection` per chunk touched."""
        for combo in itertools.product(*self._dims):
            coords = tuple(p.chunk_ix for p in combo)
            chunk_sel: tuple = tuple(p.chunk_sel for p in combo)
            out_items = [p.out_sel for p in combo if p.out_sel is not None]
            if self._ix_chunk:
                chunk_sel = _ix(list(chunk_sel))
            if sum(isinstance(s, np.ndarray) for s in out_items) > 1:
                out_sel: tuple = _ix(
                    [slice(s.start, s.stop, 1) if isinstance(s, slice) else s for s in out_items]
                )
            else:
                out_sel = tuple(out_items)
            yield ChunkProjection(coords, chunk_sel, out_sel, all(p.complete for p in combo))


class BasicIndexer(_ProductIndexer):
    """Integers (negative allowed), slices with step >= 1 and one Ellipsis.

    Integer axes disappear from the result; ``drop_axes`` is always ``()``.
    """

    def __init__(self, selection: Any, shape: Shape, chunks: Shape):
        shape, chunks = _normalize_geometry(shape, chunks)
        selection = replace_ellipsis(selection, shape)
        kinds, sizes, dims = [], [], []
        for axis, (sel, n, c) in enumerate(zip(selection, shape, chunks)):
            if isinstance(sel, slice):
                size, projs = _slice_dim(sel, n, c, axis)
                kinds.append("slice")
            elif is_integer(sel) or (
                isinstance(sel, np.ndarray) and sel.ndim == 0 and sel.dtype.kind in "ui"
            ):
                size, projs = 1, _int_dim(normalize_integer_selection(sel, n, axis), n, c)
                kinds.append("int")
            else:
                raise ArrayIndexError(
                    "unsupported selection item for basic indexing; expected integer or "
                    f"slice, got {_describe(sel)} ({type(sel).__name__}) along axis {axis}"
                )
            sizes.append(size)
            dims.append(projs)
        self._setup(kinds, sizes, dims)


class OrthogonalIndexer(_ProductIndexer):
    """Per axis: integer, slice, 1-D integer array (any order, duplicates allowed) or
    1-D Boolean array of the axis length; arrays select independently per axis
    (numpy ``oindex`` semantics)."""

    def __init__(self, selection: Any, shape: Shape, chunks: Shape):
        shape, chunks = _normalize_geometry(shape, chunks)
        selection = replace_lists(replace_ellipsis(selection, shape))
        kinds, sizes, dims = [], [], []
        for axis, (sel, n, c) in enumerate(zip(selection, shape, chunks)):
            if isinstance(sel, np.ndarray) and sel.ndim == 0 and sel.dtype.kind in "ui":
                sel = sel.item()
            if isinstance(sel, slice):
                size, projs = _slice_dim(sel, n, c, axis)
                kinds.append("slice")
            elif is_integer(sel):
                size, projs = 1, _int_dim(normalize_integer_selection(sel, n, axis), n, c)
                kinds.append("int")
            elif is_integer_array(sel) or is_bool_array(sel):
                if sel.ndim != 1:
                    raise ArrayIndexError(
                        "arrays in an orthogonal selection must be 1-dimensional; got an "
                        f"array of shape {sel.shape} along axis {axis}: {_describe(sel)}"
                    )
                if sel.dtype == bool:
                    if sel.shape[0] != n:
                        raise ArrayIndexError(
                            "Boolean array has the wrong length for dimension; expected "
                            f"{n}, got {sel.shape[0]} along axis {axis}"
                        )
                    idx = np.flatnonzero(sel)
                else:
                    idx = _int_index_array(sel, n, axis)
                size, projs = idx.size, _array_dim(idx, n, c)
                kinds.append("array")
            else:
                raise ArrayIndexError(
                    "unsupported selection item for orthogonal indexing; expected integer, "
                    f"slice, integer array or Boolean array, got {_describe(sel)} "
                    f"({type(sel).__name__}) along axis {axis}"
                )
            sizes.append(size)
            dims.append(projs)
        self._setup(kinds, sizes, dims)


class BlockIndexer(_ProductIndexer):
    """Selection in units of chunks: integers (negative allowed) and step-1 slices,
    translated to the whole blocks they cover (the last block ends at the array end).
    An integer keeps its axis. A slice start outside the block grid raises, as in
    zarr 2; slice stops are clipped to the grid."""

    def __init__(self, selection: Any, shape: Shape, chunks: Shape):
        shape, chunks = _normalize_geometry(shape, chunks)
        selection = replace_ellipsis(selection, shape)
        kinds, sizes, dims = [], [], []
        for axis, (sel, n, c) in enumerate(zip(selection, shape, chunks)):
            nblocks = _ceildiv(n, c)
            if is_integer(sel):
                b = int(sel)
                b = b + nblocks if b < 0 else b
                if not 0 <= b < nblocks:
                    raise BoundsCheckError(nblocks, int(sel), axis)
                start, stop = b, b + 1
            elif isinstance(sel, slice):
                for part in (sel.start, sel.stop, sel.step):
                    if part is not None and not is_integer(part):
                        raise ArrayIndexError(
                            f"block slice {sel!r} along axis {axis} has a non-integer "
                            f"bound {_describe(part)}"
                        )
                if sel.step is not None and sel.step < 1:
                    raise _negative_step(sel)
                if sel.step not in (None, 1):
                    raise ArrayIndexError(
                        f"block selection slices must have step 1; got {sel!r} along axis {axis}"
                    )
                start = 0
                if sel.start is not None:
                    start = int(sel.start) + nblocks if sel.start < 0 else int(sel.start)
                    if not 0 <= start < nblocks:
                        raise BoundsCheckError(nblocks, int(sel.start), axis)
                stop = nblocks
                if sel.stop is not None:
                    stop = int(sel.stop) + nblocks if sel.stop < 0 else int(sel.stop)
                    stop = min(max(stop, start), nblocks)
            else:
                raise ArrayIndexError(
                    "unsupported selection item for block indexing; expected integer or "
                    f"slice, got {_describe(sel)} ({type(sel).__name__}) along axis {axis}"
                )
            size, projs = _slice_dim(slice(start * c, min(stop * c, n)), n, c, axis)
            kinds.append("slice")
            sizes.append(size)
            dims.append(projs)
        self._setup(kinds, sizes, dims)


# --- coordinate and mask indexers ------------------------------------------------------


class CoordinateIndexer:
    """One integer array (or integer) per axis, broadcast together: the points
    ``zip(*coords)`` (numpy advanced-indexing semantics, negative indices allowed).

    ``shape`` is ``(n_points,)``; ``sel_shape`` is the broadcast shape of the
    coordinates (``(1,)`` when they are all scalars, as in zarr 2).
    """

    shape: Shape
    sel_shape: Shape
    drop_axes: Shape = ()

    def __init__(self, selection: Any, shape: Shape, chunks: Shape):
        shape, chunks = _normalize_geometry(shape, chunks)
        selection = replace_lists(ensure_tuple(selection))
        if not shape:
            raise ArrayIndexError(
                "coordinate selection needs an array with at least one dimension; "
                f"got {_describe(selection)} for a 0-d array"
            )
        if len(selection) > len(shape):
            raise err_too_many_indices(selection, shape)
        if len(selection) < len(shape):
            raise ArrayIndexError(
                "invalid coordinate selection; expected one integer array per dimension "
                f"({len(shape)}), got {len(selection)}: {_describe(selection)}"
            )
        coords = []
        for axis, (sel, n) in enumerate(zip(selection, shape)):
            if is_integer(sel):
                coords.append(np.asarray(normalize_integer_selection(sel, n, axis), np.intp))
            elif is_integer_array(sel):
                coords.append(_int_index_array(np.asarray(sel), n, axis))
            else:
                raise ArrayIndexError(
                    "invalid coordinate selection; expected an integer or integer array "
                    f"per dimension, got {_describe(sel)} ({type(sel).__name__}) "
                    f"along axis {axis}"
                )
        try:
            coords = np.broadcast_arrays(*coords)
        except ValueError:
            shapes = ", ".join(str(c.shape) for c in coords)
            raise ArrayIndexError(
                f"coordinate arrays could not be broadcast together; shapes {shapes}"
            ) from None
        self.sel_shape = tuple(coords[0].shape) or (1,)
        self._init_points([c.reshape(-1) for c in coords], shape, chunks)

    def _init_points(self, flat: list[np.ndarray], shape: Shape, chunks: Shape) -> None:
        """Group normalised flat coordinates by chunk (stable, vectorised)."""
        self._shape_arr = shape
        self._chunks = chunks
        npts = int(flat[0].size)
        self.shape = (npts,)
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._chunk_coords: list[tuple[int, ...]] = []
        self._sorted = flat
        self._order: np.ndarray | None = None
        if npts == 0:
            return
        grid = grid_shape(shape, chunks)
        cids = [f // c for f, c in zip(flat, chunks)]
        rav = cids[0] if len(cids) == 1 else np.ravel_multi_index(cids, grid)
        if npts > 1 and not bool(np.all(rav[1:] >= rav[:-1])):
            self._order = np.argsort(rav, kind="stable")
            rav = rav[self._order]
            self._sorted = [f[self._order] for f in flat]
        bounds = (np.flatnonzero(rav[1:] != rav[:-1]) + 1).tolist()
        self._starts = [0, *bounds]
        self._ends = [*bounds, npts]
        mixs = np.unravel_index(rav[self._starts], grid)
        self._chunk_coords = list(zip(*(m.tolist() for m in mixs)))

    def __iter__(self) -> Iterator[ChunkProjection]:
        """Yield one :class:`ChunkProjection` per chunk holding at least one point."""
        if not self._starts:
            return
        chunks, shape = self._chunks, self._shape_arr
        # everything per point or per chunk is computed once, vectorised; the loop
        # below only slices views
        within = [f % c for f, c in zip(self._sorted, chunks)]
        coords_arr = [np.fromiter((cc[a] for cc in self._chunk_coords), np.intp, len(self._chunk_coords))
                      for a in range(len(chunks))]
        n_inbound = np.ones(len(self._chunk_coords), dtype=np.int64)
        for a, (c, n) in enumerate(zip(chunks, shape)):
            n_inbound *= np.minimum(c, n - coords_arr[a] * c)
        n_inbound = n_inbound.tolist()
        order = self._order
        for k, (s, e, coords) in enumerate(zip(self._starts, self._ends, self._chunk_coords)):
            chunk_sel = tuple(w[s:e] for w in within)
            out_sel: Any = slice(s, e) if order is None else order[s:e]
            count = e - s
            complete = count == n_inbound[k] and self._covers(chunk_sel, coords, count)
            yield ChunkProjection(tuple(coords), chunk_sel, out_sel, complete)

    def _covers(self, chunk_sel: tuple[np.ndarray, ...], coords: tuple[int, ...], count: int) -> bool:
        """True when the points of one chunk are its every item in C order (so the
        chunk is read or written whole)."""
        inbound = tuple(min(c, n - ci * c) for ci, c, n in zip(coords, self._chunks, self._shape_arr))
        return bool(np.array_equal(np.ravel_multi_index(chunk_sel, inbound), np.arange(count)))


class MaskIndexer(CoordinateIndexer):
    """A single Boolean array with the array's shape; the same as a coordinate
    selection of ``np.nonzero(mask)``. ``shape == sel_shape == (n_true,)``."""

    def __init__(self, selection: Any, shape: Shape, chunks: Shape):
        shape, chunks = _normalize_geometry(shape, chunks)
        selection = replace_lists(ensure_tuple(selection))
        if len(selection) != 1 or not is_bool_array(selection[0]):
            raise ArrayIndexError(
                "invalid mask selection; expected one Boolean array with the same shape "
                f"as the target array {shape}, got {_describe(selection)}"
            )
        mask = selection[0]
        if tuple(mask.shape) != shape:
            raise ArrayIndexError(
                f"mask shape {tuple(mask.shape)} does not match array shape {shape}"
            )
        if not shape:
            raise ArrayIndexError("mask selection needs an array with at least one dimension")
        coords = [c.astype(np.intp, copy=False) for c in np.nonzero(mask)]
        self.sel_shape = (int(coords[0].size),)
        self._init_points(coords, shape, chunks)


# --- structured-dtype fields -----------------------------------------------------------


def _is_field_list(x: Any) -> bool:
    return isinstance(x, list) and len(x) > 0 and all(isinstance(f, str) for f in x)


def pop_fields(selection: Any) -> tuple[str | list[str] | None, Any]:
    """Split field names (str items, or lists of str) from the rest of a selection.

    Returns ``(fields, selection)``: ``fields`` is a str for a single str item, a list
    when several names (or a list) were given, else None; a 1-tuple of remaining
    items is unwrapped and no remaining items give ``()`` (zarr 2 behaviour).
    """
    if isinstance(selection, str):
        return selection, ()
    if _is_field_list(selection):
        return list(selection), ()
    if not isinstance(selection, tuple):
        return None, selection
    names: list[str] = []
    n_lists = 0
    rest = []
    for s in selection:
        if isinstance(s, str):
            names.append(s)
        elif _is_field_list(s):
            names.extend(s)
            n_lists += 1
        else:
            rest.append(s)
    fields: str | list[str] | None
    if not names:
        fields = None
    elif len(names) == 1 and n_lists == 0:
        fields = names[0]
    else:
        fields = names
    if len(rest) == 1:
        return fields, rest[0]
    return fields, tuple(rest)


def check_fields(fields: str | list[str] | tuple | None, dtype: np.dtype) -> np.dtype:
    """The dtype of a selection of ``fields`` from ``dtype`` (``dtype`` itself if none).

    Raises ArrayIndexError for fields on a dtype without fields, or an unknown field.
    """
    dtype = np.dtype(dtype)
    if fields is None:
        return dtype
    if not isinstance(fields, (str, list, tuple)):
        raise ArrayIndexError(
            f"'fields' argument must be a string or list of strings; got {_describe(fields)}"
        )
    if not fields:
        return dtype
    if dtype.names is None:
        raise ArrayIndexError(
            f"invalid 'fields' argument {fields!r}: array dtype {dtype} has no fields"
        )
    names = [fields] if isinstance(fields, str) else list(fields)
    unknown = [f for f in names if f not in dtype.names]
    if unknown:
        raise ArrayIndexError(
            f"invalid 'fields' argument, field {unknown[0]!r} not found; "
            f"dtype has fields {list(dtype.names)}"
        )
    if isinstance(fields, str):
        return dtype[fields]
    return np.dtype([(f, dtype[f]) for f in names])


def check_no_multi_fields(fields: str | list[str] | None) -> str | list[str] | None:
    """Reduce a one-element field list to its name; raise for several fields
    (zarr 2 cannot write to multiple fields at once)."""
    if isinstance(fields, (list, tuple)):
        if len(fields) == 1:
            return fields[0]
        if len(fields) > 1:
            raise ArrayIndexError(
                f"multiple fields are not supported for this operation; got {list(fields)!r}"
            )
    return fields
