"""The JSON form of numpy dtypes in ``.zarray`` (strings, nested structured field lists)."""

from __future__ import annotations

from typing import Any

import numpy as np

from zarrflow.errors import MetadataError
from zarrflow.format.jsonio import short
from zarrflow.format.keys import ARRAY_META_KEY

__all__ = ["decode_dtype", "encode_dtype"]


def encode_dtype(dtype: np.dtype) -> str | list:
    """The JSON form of ``dtype``: ``dtype.str`` (``'<f8'``, ``'|S6'``, ``'|O'`` ...),
    or for structured dtypes the nested ``[name, dtype(, shape)]`` list of ``descr``."""
    dtype = np.dtype(dtype)
    if dtype.fields is None:
        if dtype.subdtype is not None:
            raise ValueError(
                f"cannot encode subarray dtype {dtype}; use its base "
                f"{dtype.base} and append {dtype.shape} to the array shape"
            )
        return dtype.str
    return _descr_to_lists(dtype.descr)


def _descr_to_lists(descr: Any) -> Any:
    if not isinstance(descr, list):
        return descr
    out = []
    for entry in descr:
        name = list(entry[0]) if isinstance(entry[0], tuple) else entry[0]
        item = [name, _descr_to_lists(entry[1])]
        if len(entry) > 2:
            item.append(list(entry[2]))
        out.append(item)
    return out


def _lists_to_descr(obj: Any) -> Any:
    if isinstance(obj, str):
        return obj
    if not isinstance(obj, list) or not obj:
        raise TypeError(f"expected a dtype string or a non-empty list of fields, got {obj!r}")
    out = []
    for entry in obj:
        if not isinstance(entry, (list, tuple)) or len(entry) not in (2, 3):
            raise TypeError(f"structured field must be [name, dtype(, shape)], got {entry!r}")
        name = tuple(entry[0]) if isinstance(entry[0], list) else entry[0]
        field = (name, _lists_to_descr(entry[1]))
        if len(entry) == 3:
            shape = entry[2]
            field += (tuple(shape) if isinstance(shape, list) else shape,)
        out.append(field)
    return out


def decode_dtype(obj: Any, *, key: str = ARRAY_META_KEY) -> np.dtype:
    """The numpy dtype for a JSON dtype (string or structured field list).

    Raises :class:`MetadataError` naming ``key`` and the value when it is not a dtype.
    """
    try:
        return np.dtype(_lists_to_descr(obj))
    except (TypeError, ValueError, KeyError, SyntaxError) as exc:
        raise MetadataError(f"{key}: invalid dtype {short(obj)}: {exc}") from exc
