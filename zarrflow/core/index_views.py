"""The selection views of an Array: ``array.oindex[...]``, ``array.vindex[...]`` and
``array.blocks[...]`` turn subscript syntax into the Array's ``get_*``/``set_*``
selection methods (fields popped first, as zarr 2 does)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from zarrflow.core.indexing import pop_fields
from zarrflow.errors import VindexInvalidSelectionError

if TYPE_CHECKING:
    from zarrflow.core.array import Array

__all__ = ["BlockIndex", "OIndex", "VIndex"]


class OIndex:
    """``array.oindex[...]``: orthogonal selection."""

    def __init__(self, array: Array):
        self.array = array

    def __getitem__(self, selection: Any) -> Any:
        fields, selection = pop_fields(selection)
        return self.array.get_orthogonal_selection(selection, fields=fields)

    def __setitem__(self, selection: Any, value: Any) -> None:
        fields, selection = pop_fields(selection)
        self.array.set_orthogonal_selection(selection, value, fields=fields)


class VIndex:
    """``array.vindex[...]``: coordinate selection, or mask selection with one Boolean array."""

    def __init__(self, array: Array):
        self.array = array

    def _kind(self, selection: Any) -> str:
        items = selection if isinstance(selection, tuple) else (selection,)
        if len(items) == 1:
            arr = np.asanyarray(items[0]) if not isinstance(items[0], slice) else None
            if arr is not None and arr.dtype == bool:
                return "mask"
        for item in items:
            if isinstance(item, (slice, type(Ellipsis))) or item is None:
                raise VindexInvalidSelectionError(selection)
            arr = np.asanyarray(item)
            if arr.dtype.kind not in "iu":
                raise VindexInvalidSelectionError(selection)
        return "coordinate"

    def __getitem__(self, selection: Any) -> Any:
        fields, selection = pop_fields(selection)
        if self._kind(selection) == "mask":
            mask = selection[0] if isinstance(selection, tuple) else selection
            return self.array.get_mask_selection(mask, fields=fields)
        return self.array.get_coordinate_selection(selection, fields=fields)

    def __setitem__(self, selection: Any, value: Any) -> None:
        fields, selection = pop_fields(selection)
        if self._kind(selection) == "mask":
            mask = selection[0] if isinstance(selection, tuple) else selection
            self.array.set_mask_selection(mask, value, fields=fields)
        else:
            self.array.set_coordinate_selection(selection, value, fields=fields)


class BlockIndex:
    """``array.blocks[...]``: block (chunk-unit) selection."""

    def __init__(self, array: Array):
        self.array = array

    def __getitem__(self, selection: Any) -> Any:
        fields, selection = pop_fields(selection)
        return self.array.get_block_selection(selection, fields=fields)

    def __setitem__(self, selection: Any, value: Any) -> None:
        fields, selection = pop_fields(selection)
        self.array.set_block_selection(selection, value, fields=fields)
