"""The JSON form of fill values, as zarr 2.18's ``Metadata2`` encodes and decodes them."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
from numcodecs.abc import Codec

__all__ = ["decode_fill_value", "encode_fill_value"]


def _encode_float(value: Any) -> float | str:
    if np.isnan(value):
        return "NaN"
    if np.isposinf(value):
        return "Infinity"
    if np.isneginf(value):
        return "-Infinity"
    return float(value)


def encode_fill_value(value: Any, dtype: np.dtype, object_codec: Codec | None = None) -> Any:
    """The JSON form of a fill value, as zarr 2.18 ``Metadata2.encode_fill_value``.

    Floats: NaN/inf as ``"NaN"``/``"Infinity"``/``"-Infinity"``; complex: ``[re, im]``;
    bytes, void and structured: base64; datetimes: the int64 view; structured dtypes
    holding objects: ``object_codec``-encoded then base64; object dtypes: as-is.
    """
    dtype = np.dtype(dtype)
    if value is None:
        return None
    if dtype.kind == "V" and dtype.hasobject:
        if object_codec is None:
            raise ValueError("missing object_codec for object array")
        return base64.standard_b64encode(object_codec.encode(value)).decode("ascii")
    kind = dtype.kind
    if kind == "f":
        return _encode_float(value)
    if kind in "ui":
        return int(value)
    if kind == "b":
        return bool(value)
    if kind == "c":
        value = complex(value)
        return [_encode_float(value.real), _encode_float(value.imag)]
    if kind in "SV":
        if isinstance(value, str):
            value = value.encode("ascii")
        return base64.standard_b64encode(value).decode("ascii")
    if kind == "U":
        return value
    if kind in "mM":
        return int(np.array(value, dtype=dtype)[()].view("i8"))
    return value


def _decode_float(value: Any, dtype: np.dtype) -> Any:
    if value == "NaN":
        return np.nan
    if value == "Infinity":
        return np.inf
    if value == "-Infinity":
        return -np.inf
    return np.array(value, dtype=dtype)[()]


def decode_fill_value(value: Any, dtype: np.dtype, object_codec: Codec | None = None) -> Any:
    """The fill value for its JSON form, as zarr 2.18 ``Metadata2.decode_fill_value``.

    Returns numpy scalars (``np.nan``/``np.inf`` as Python floats, ``U`` as str) and
    raises ValueError/TypeError when the JSON value does not fit ``dtype``. Unlike zarr,
    complex values with infinite parts decode exactly (zarr computes ``re + 1j*im``).
    """
    dtype = np.dtype(dtype)
    if value is None:
        return None
    kind = dtype.kind
    if kind == "V" and dtype.hasobject:
        if object_codec is None:
            raise ValueError("missing object_codec for object array")
        decoded = object_codec.decode(base64.standard_b64decode(value))
        return np.array(decoded, dtype=dtype)[()]
    if kind == "f":
        return _decode_float(value, dtype)
    if kind == "c":
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ValueError(f"complex fill value must be [real, imag], got {value!r}")
        part = np.empty((), dtype=dtype).real.dtype
        out = np.zeros((), dtype=dtype)
        out.real = _decode_float(value[0], part)
        out.imag = _decode_float(value[1], part)
        return out[()]
    if kind == "S":
        try:
            value = base64.standard_b64decode(value)
        except Exception:  # noqa: BLE001 - lenient like zarr: pre-base64 values such as 0
            pass
        return np.array(value, dtype=dtype)[()]
    if kind == "V":
        return np.array(base64.standard_b64decode(value), dtype=dtype.str).view(dtype)[()]
    if kind == "U":
        return value
    return np.array(value, dtype=dtype)[()]
