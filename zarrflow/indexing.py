"""zarr 2's ``zarr.indexing``: selection helpers and indexers (re-exported from the
engine), plus ``oindex``/``oindex_set``, orthogonal selection on numpy arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from zarrflow.core.index_views import BlockIndex, OIndex, VIndex
from zarrflow.core.indexing import (
    BasicIndexer,
    BlockIndexer,
    ChunkProjection,
    CoordinateIndexer,
    MaskIndexer,
    OrthogonalIndexer,
    check_fields,
    check_no_multi_fields,
    ensure_tuple,
    is_basic_selection,
    is_bool_array,
    is_contiguous_selection,
    is_coordinate_selection,
    is_integer,
    is_integer_array,
    is_integer_list,
    is_mask_selection,
    is_pure_fancy_indexing,
    is_pure_orthogonal_indexing,
    is_scalar,
    is_total_slice,
    make_slice_selection,
    normalize_integer_selection,
    pop_fields,
    replace_ellipsis,
    replace_lists,
)

__all__ = [
    "BasicIndexer", "BlockIndex", "BlockIndexer", "ChunkProjection", "CoordinateIndexer", "MaskIndexer",
    "OIndex", "OrthogonalIndexer", "VIndex", "check_fields", "check_no_multi_fields", "ensure_tuple",
    "is_basic_selection", "is_bool_array", "is_contiguous_selection", "is_coordinate_selection",
    "is_integer", "is_integer_array", "is_integer_list", "is_mask_selection", "is_pure_fancy_indexing",
    "is_pure_orthogonal_indexing", "is_scalar", "is_total_slice", "make_slice_selection",
    "normalize_integer_selection", "oindex", "oindex_set", "pop_fields", "replace_ellipsis", "replace_lists",
]


def _ix(selection: Any, shape: tuple[int, ...]) -> tuple:
    """``np.ix_`` over a selection of slices, ints, int arrays and bool arrays."""
    selection = replace_ellipsis(selection, shape)
    items = []
    for sel, n in zip(selection, shape):
        if isinstance(sel, slice):
            sel = np.arange(*sel.indices(n))
        elif isinstance(sel, (int, np.integer)):
            sel = [sel]
        items.append(np.nonzero(sel)[0] if np.asarray(sel).dtype == bool else np.asarray(sel))
    return np.ix_(*items)


def oindex(a: np.ndarray, selection: Any) -> np.ndarray:
    """Orthogonal (outer) selection on a numpy array: each axis indexed independently."""
    selection = replace_ellipsis(selection, a.shape)
    drop_axes = tuple(i for i, s in enumerate(selection) if is_integer(s))
    result = a[_ix(selection, a.shape)]
    return result.squeeze(axis=drop_axes) if drop_axes else result


def oindex_set(a: np.ndarray, selection: Any, value: Any) -> None:
    """Orthogonal (outer) assignment into a numpy array."""
    selection = replace_ellipsis(selection, a.shape)
    drop_axes = tuple(i for i, s in enumerate(selection) if is_integer(s))
    if drop_axes and not np.isscalar(value):
        value = np.expand_dims(value, axis=drop_axes)
    a[_ix(selection, a.shape)] = value
