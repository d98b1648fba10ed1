"""Creation-time normalisation of user arguments, as zarr-python 2.18's ``util`` does it.

These turn what users pass to ``create``/``open_array`` (``dtype=str``, ``order='c'``,
``fill_value=0``...) into the canonical values the metadata documents hold.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Sequence
from typing import Any

import numcodecs
import numpy as np
from numcodecs.abc import Codec

__all__ = ["normalize_dimension_separator", "normalize_dtype", "normalize_fill_value", "normalize_order"]

# ``dtype=str`` / ``bytes`` / ``"array:<dtype>"`` shortcuts for object arrays.
_OBJECT_CODECS = {"str": "vlen-utf8", "bytes": "vlen-bytes", "array": "vlen-array"}


def normalize_dtype(
    dtype: Any, object_codec: Codec | None = None, *, filters: Sequence[Any] | None = None
) -> tuple[np.dtype, Codec | None]:
    """Creation-time dtype normalisation, as zarr 2.18 ``util.normalize_dtype``.

    ``str``/``bytes``/``"array:<dtype>"`` give an object dtype with a VLenUTF8,
    VLenBytes or VLenArray codec. Generic datetime64/timedelta64 (no unit) is rejected.
    An object dtype without ``object_codec`` raises ValueError, unless ``filters`` are
    given (zarr then warns with FutureWarning, since a filter may be the codec). A codec
    given with a non-object dtype is ignored with a warning.
    """
    if inspect.isclass(dtype):
        dtype = dtype.__name__
    if isinstance(dtype, str):
        name, _, args = dtype.partition(":")
        if name in _OBJECT_CODECS:
            if object_codec is None:
                codec_id = _OBJECT_CODECS[name]
                cls = numcodecs.registry.codec_registry.get(codec_id)
                if cls is None:  # pragma: no cover - numcodecs always has vlen codecs
                    raise ValueError(f"codec {codec_id!r} for object type {name!r} is not available")
                object_codec = cls(*(args.split(",") if args else []))
            return np.dtype(object), object_codec
    dtype = np.dtype(dtype)
    if dtype.kind in "mM" and np.datetime_data(dtype)[0] == "generic":
        raise ValueError(
            f"datetime64 and timedelta64 dtypes with generic units are not supported, "
            f'please specify units (e.g., "M8[ns]"); got {dtype.str!r}'
        )
    if dtype.kind == "O":  # zarr 2 asks for a codec here; structured dtypes with object
        if object_codec is None:  # fields are checked where the array is created
            if not filters:
                raise ValueError("missing object_codec for object array")
            warnings.warn(
                "missing object_codec for object array; this will raise a ValueError in version 3.0",
                FutureWarning,
                stacklevel=2,
            )
    elif object_codec is not None and not dtype.hasobject:
        warnings.warn("an object_codec is only needed for object arrays", stacklevel=2)
        object_codec = None
    return dtype, object_codec


# --- fill values -----------------------------------------------------------------------


def normalize_fill_value(fill_value: Any, dtype: np.dtype) -> Any:
    """Creation-time fill value normalisation, as zarr 2.18 ``util.normalize_fill_value``.

    ``None`` and object dtypes keep the value; anything equal to 0 becomes the dtype's
    zero (``b''``, ``''``, a zeroed structured scalar ...); unicode dtypes need a str;
    otherwise the value is cast to a numpy scalar of ``dtype`` (ValueError if it cannot).
    """
    dtype = np.dtype(dtype)
    if fill_value is None or dtype.hasobject:
        return fill_value
    if not isinstance(fill_value, np.void) and fill_value == 0:
        return np.zeros((), dtype=dtype)[()]
    if dtype.kind == "U":
        if not isinstance(fill_value, str):
            raise ValueError(
                f"fill_value {fill_value!r} is not valid for dtype {dtype}; must be a unicode string"
            )
        return fill_value
    try:
        if isinstance(fill_value, bytes) and dtype.kind == "V":
            return np.array(fill_value, dtype=dtype.str).view(dtype)[()]
        return np.array(fill_value, dtype=dtype)[()]
    except Exception as exc:
        raise ValueError(
            f"fill_value {fill_value!r} is not valid for dtype {dtype}; nested exception: {exc}"
        ) from exc


def normalize_order(order: Any) -> str:
    """``'C'`` or ``'F'`` (case-insensitive input); ValueError naming anything else."""
    norm = str(order).upper()
    if norm not in ("C", "F"):
        raise ValueError(f"order must be either 'C' or 'F', found: {order!r}")
    return norm


def normalize_dimension_separator(sep: Any) -> str | None:
    """``None``, ``'.'`` or ``'/'``; ValueError naming anything else."""
    if sep is None or (isinstance(sep, str) and sep in (".", "/")):
        return sep
    raise ValueError(f"dimension_separator must be either '.' or '/', found: {sep!r}")
