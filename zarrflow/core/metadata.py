"""Zarr v2 metadata documents: bytes in, frozen dataclasses out, and back to bytes.

Pure functions only (no store I/O). Everything written here is byte-identical to
what zarr-python 2.18 writes for the same array, group, attributes or consolidated
metadata: ``json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=True,
separators=(",", ": "))`` with numpy numbers converted to plain ints/floats.
"""

from __future__ import annotations

import base64
import dataclasses
import inspect
import json
import numbers
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numcodecs
import numpy as np
from numcodecs.abc import Codec
from numcodecs.errors import UnknownCodecError as _NumcodecsUnknownCodecError

from zarrflow.errors import MetadataError, UnknownCodecError, UnsafeCodecError

try:
    from numcodecs.errors import UnsafeDecodeError as _UnsafeDecodeError
except ImportError:  # pragma: no cover - older numcodecs decode pickles unconditionally
    _UnsafeDecodeError = RuntimeError

__all__ = [
    "ARRAY_META_KEY",
    "ATTRS_KEY",
    "CONSOLIDATED_KEY",
    "GROUP_META_KEY",
    "ZARR_FORMAT",
    "ArrayMetadata",
    "GroupMetadata",
    "decode_dtype",
    "decode_fill_value",
    "encode_attributes",
    "encode_consolidated",
    "encode_dtype",
    "encode_fill_value",
    "get_codec",
    "json_dumps",
    "json_loads",
    "normalize_dimension_separator",
    "normalize_dtype",
    "normalize_fill_value",
    "normalize_order",
    "parse_attributes",
    "parse_consolidated",
]

#: The only metadata format version this module reads and writes.
ZARR_FORMAT = 2
#: Store key (suffix) of array metadata.
ARRAY_META_KEY = ".zarray"
#: Store key (suffix) of group metadata.
GROUP_META_KEY = ".zgroup"
#: Store key (suffix) of user attributes.
ATTRS_KEY = ".zattrs"
#: Store key of consolidated metadata.
CONSOLIDATED_KEY = ".zmetadata"

# ``dtype=str`` / ``bytes`` / ``"array:<dtype>"`` shortcuts for object arrays.
_OBJECT_CODECS = {"str": "vlen-utf8", "bytes": "vlen-bytes", "array": "vlen-array"}


# --- JSON ------------------------------------------------------------------------------


def _json_number(o: Any) -> Any:
    """``default=`` hook: numpy integers and reals as JSON numbers (zarr 2's NumberEncoder)."""
    if isinstance(o, numbers.Integral):
        return int(o)
    if isinstance(o, numbers.Real):
        return float(o)
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def json_dumps(obj: Any) -> bytes:
    """Serialise ``obj`` exactly as zarr 2.18 writes metadata documents (ASCII bytes)."""
    return json.dumps(
        obj, indent=4, sort_keys=True, ensure_ascii=True, separators=(",", ": "), default=_json_number
    ).encode("ascii")


def json_loads(data: bytes | bytearray | memoryview | str, key: str = "document") -> Any:
    """Parse a UTF-8 JSON document; any failure is a :class:`MetadataError` naming ``key``."""
    try:
        text = bytes(data).decode("utf-8") if not isinstance(data, str) else data
        return json.loads(text)
    except (UnicodeDecodeError, ValueError, TypeError) as exc:
        raise MetadataError(f"{key}: invalid JSON ({exc}): {_short(data)}") from exc


def _short(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _load_object(data: Any, key: str, what: str) -> dict:
    """``data`` (bytes, str or an already-parsed mapping) as a dict, else MetadataError."""
    doc = dict(data) if isinstance(data, Mapping) else json_loads(data, key)
    if not isinstance(doc, dict):
        raise MetadataError(f"{key}: {what} must be a JSON object, got {_short(doc)}")
    return doc


# --- dtypes ----------------------------------------------------------------------------


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
        raise MetadataError(f"{key}: invalid dtype {_short(obj)}: {exc}") from exc


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
    if dtype.hasobject:
        if object_codec is None:
            if not filters:
                raise ValueError("missing object_codec for object array")
            warnings.warn(
                "missing object_codec for object array; this will raise a ValueError in version 3.0",
                FutureWarning,
                stacklevel=2,
            )
    elif object_codec is not None:
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
        except Exception:  # lenient like zarr: pre-base64 values such as 0
            pass
        return np.array(value, dtype=dtype)[()]
    if kind == "V":
        return np.array(base64.standard_b64decode(value), dtype=dtype.str).view(dtype)[()]
    if kind == "U":
        return value
    return np.array(value, dtype=dtype)[()]


# --- small normalisers -----------------------------------------------------------------


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


# --- codecs ----------------------------------------------------------------------------


def get_codec(config: Mapping[str, Any] | None, *, key: str = ARRAY_META_KEY) -> Codec | None:
    """The numcodecs codec for a config dict (``None`` for ``None``).

    An unknown id raises :class:`UnknownCodecError`; a config that is not a dict with a
    string ``'id'``, or that the codec rejects, raises :class:`MetadataError`.
    """
    if config is None:
        return None
    if not isinstance(config, Mapping) or not isinstance(config.get("id"), str):
        raise MetadataError(f"{key}: codec config must be an object with an 'id', got {_short(config)}")
    try:
        return numcodecs.get_codec(dict(config))
    except _NumcodecsUnknownCodecError as exc:
        raise UnknownCodecError(f"{key}: unknown codec id {config['id']!r} in {_short(dict(config))}") from exc
    except (TypeError, ValueError) as exc:
        raise MetadataError(f"{key}: invalid codec config {_short(dict(config))}: {exc}") from exc


# --- array metadata --------------------------------------------------------------------


def _int_tuple(value: Any, key: str, field: str, minimum: int) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise MetadataError(f"{key}: {field} must be a list of integers, got {_short(value)}")
    for item in value:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Integral) or item < minimum:
            raise MetadataError(f"{key}: {field} must be integers >= {minimum}, got {_short(value)}")
    return tuple(int(item) for item in value)


def _codec_config(value: Any, key: str, field: str) -> dict:
    if not isinstance(value, Mapping) or not isinstance(value.get("id"), str):
        raise MetadataError(f"{key}: {field} must be an object with a string 'id', got {_short(value)}")
    return dict(value)


def _checked(
    key: str,
    shape: Any,
    chunks: Any,
    dtype: Any,
    compressor: Any,
    order: Any,
    filters: Any,
    dimension_separator: Any,
) -> dict[str, Any]:
    """Validated, canonical field values; MetadataError naming key, field and value."""
    shape = _int_tuple(shape, key, "shape", 0)
    chunks = _int_tuple(chunks, key, "chunks", 1)
    if len(chunks) != len(shape):
        raise MetadataError(
            f"{key}: chunks {list(chunks)} must have as many dimensions as shape {list(shape)}"
        )
    try:
        dtype = np.dtype(dtype)
    except TypeError as exc:
        raise MetadataError(f"{key}: invalid dtype {_short(dtype)}: {exc}") from exc
    if dtype.subdtype is not None:
        raise MetadataError(f"{key}: dtype {dtype} is a subarray dtype; use {dtype.base} and extend shape")
    if compressor is not None:
        compressor = _codec_config(compressor, key, "compressor")
    if order not in ("C", "F"):
        raise MetadataError(f"{key}: order must be 'C' or 'F', got {_short(order)}")
    if filters is not None:
        if isinstance(filters, (str, bytes, Mapping)) or not isinstance(filters, Sequence):
            raise MetadataError(f"{key}: filters must be null or a list, got {_short(filters)}")
        filters = tuple(_codec_config(f, key, "filters") for f in filters)
    if dtype.hasobject and not filters:
        raise MetadataError(
            f"{key}: dtype {encode_dtype(dtype)!r} holds objects, so filters must start with "
            f"an object codec; got filters {_short(filters)}"
        )
    if dimension_separator is not None and dimension_separator not in (".", "/"):
        raise MetadataError(
            f"{key}: dimension_separator must be '.' or '/', got {_short(dimension_separator)}"
        )
    return dict(
        shape=shape,
        chunks=chunks,
        dtype=dtype,
        compressor=compressor,
        order=order,
        filters=filters,
        dimension_separator=dimension_separator,
    )


_REQUIRED = ("zarr_format", "shape", "chunks", "dtype", "compressor", "fill_value", "order", "filters")


@dataclass(frozen=True, eq=False)
class ArrayMetadata:
    """The content of a ``.zarray`` document, with ``dtype`` and ``fill_value`` decoded.

    Equality and hashing compare the encoded document, so NaN fill values compare equal.
    """

    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: np.dtype
    compressor: dict | None
    fill_value: Any
    order: str
    filters: tuple[dict, ...] | None
    dimension_separator: str | None
    zarr_format: int = ZARR_FORMAT

    def __post_init__(self) -> None:
        if self.zarr_format != ZARR_FORMAT:
            raise MetadataError(f"{ARRAY_META_KEY}: unsupported zarr_format {self.zarr_format!r}")
        fields = _checked(
            ARRAY_META_KEY,
            self.shape,
            self.chunks,
            self.dtype,
            self.compressor,
            self.order,
            self.filters,
            self.dimension_separator,
        )
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ArrayMetadata):
            return NotImplemented
        return self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(self.to_json())

    @property
    def separator(self) -> str:
        """The chunk-key separator in effect: ``dimension_separator`` or ``'.'``."""
        return self.dimension_separator or "."

    def object_codec(self, key: str = ARRAY_META_KEY) -> Codec | None:
        """The object codec (first filter) for dtypes holding objects, else ``None``."""
        if not self.dtype.hasobject or not self.filters:
            return None
        return get_codec(self.filters[0], key=key)

    def to_json(self) -> bytes:
        """The ``.zarray`` bytes, identical to what zarr 2.18 writes for this array."""
        codec = self.object_codec() if self.dtype.kind == "V" and self.dtype.hasobject else None
        doc: dict[str, Any] = {
            "zarr_format": self.zarr_format,
            "shape": list(self.shape),
            "chunks": list(self.chunks),
            "dtype": encode_dtype(self.dtype),
            "compressor": self.compressor,
            "fill_value": encode_fill_value(self.fill_value, self.dtype, codec),
            "order": self.order,
            "filters": None if self.filters is None else list(self.filters),
        }
        if self.dimension_separator:
            doc["dimension_separator"] = self.dimension_separator
        return json_dumps(doc)

    @classmethod
    def from_json(cls, data: bytes | str | Mapping[str, Any], key: str = ARRAY_META_KEY) -> ArrayMetadata:
        """Parse and validate a ``.zarray`` document (bytes, str or parsed mapping).

        Any violation raises :class:`MetadataError` naming ``key``, the field and the value.
        Unknown extra keys are tolerated.
        """
        doc = _load_object(data, key, "array metadata")
        missing = [name for name in _REQUIRED if name not in doc]
        if missing:
            raise MetadataError(f"{key}: missing required field(s) {missing}")
        fmt = doc["zarr_format"]
        if isinstance(fmt, bool) or fmt != ZARR_FORMAT:
            raise MetadataError(f"{key}: unsupported zarr_format {_short(fmt)}; expected 2")
        dtype = decode_dtype(doc["dtype"], key=key)
        fields = _checked(
            key,
            doc["shape"],
            doc["chunks"],
            dtype,
            doc["compressor"],
            doc["order"],
            doc["filters"],
            doc.get("dimension_separator") or None,
        )
        codec = None
        if dtype.kind == "V" and dtype.hasobject:
            codec = get_codec(fields["filters"][0], key=key)
        try:
            fill_value = decode_fill_value(doc["fill_value"], dtype, codec)
        except _UnsafeDecodeError as exc:
            raise UnsafeCodecError(
                f"{key}: decoding fill_value with codec {fields['filters'][0]['id']!r} would run "
                f"code from the store; opt in to pickle decoding first"
            ) from exc
        except Exception as exc:
            raise MetadataError(
                f"{key}: invalid fill_value {_short(doc['fill_value'])} for dtype {dtype}: {exc}"
            ) from exc
        return cls(fill_value=fill_value, **fields)

    def replace(self, **changes: Any) -> ArrayMetadata:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


# --- group, attributes, consolidated ---------------------------------------------------


@dataclass(frozen=True)
class GroupMetadata:
    """The content of a ``.zgroup`` document."""

    zarr_format: int = ZARR_FORMAT

    def __post_init__(self) -> None:
        if self.zarr_format != ZARR_FORMAT:
            raise MetadataError(f"{GROUP_META_KEY}: unsupported zarr_format {self.zarr_format!r}")

    def to_json(self) -> bytes:
        """The ``.zgroup`` bytes, identical to zarr 2.18's."""
        return json_dumps({"zarr_format": self.zarr_format})

    @classmethod
    def from_json(cls, data: bytes | str | Mapping[str, Any], key: str = GROUP_META_KEY) -> GroupMetadata:
        """Parse a ``.zgroup`` document; MetadataError naming ``key`` if it is not format 2."""
        doc = _load_object(data, key, "group metadata")
        fmt = doc.get("zarr_format")
        if isinstance(fmt, bool) or fmt != ZARR_FORMAT:
            raise MetadataError(f"{key}: unsupported zarr_format {_short(fmt)}; expected 2")
        return cls()


def parse_attributes(data: bytes | str | Mapping[str, Any] | None, key: str = ATTRS_KEY) -> dict:
    """The attributes in a ``.zattrs`` document (``{}`` for ``None``); must be an object."""
    if data is None:
        return {}
    return _load_object(data, key, "attributes")


def encode_attributes(attrs: Mapping[str, Any]) -> bytes:
    """The ``.zattrs`` bytes for ``attrs`` (zarr 2.18 style).

    A value JSON cannot hold raises TypeError naming the attribute and the value's type,
    before anything is written.
    """
    attrs = dict(attrs)
    try:
        return json_dumps(attrs)
    except TypeError:
        pass
    for name, value in attrs.items():
        culprits: list[Any] = []

        def record(o: Any) -> Any:
            try:
                return _json_number(o)
            except TypeError:
                culprits.append(o)
                raise

        try:
            json.dumps({name: value}, default=record)
        except TypeError as exc:
            bad = culprits[-1] if culprits else value
            raise TypeError(
                f"attribute {name!r}: value of type {type(bad).__name__} is not JSON serialisable"
            ) from exc
    try:
        return json_dumps(attrs)
    except TypeError as exc:  # e.g. keys of mixed types that cannot be sorted
        raise TypeError(f"attributes cannot be encoded as JSON: {exc}; keys {list(attrs)!r}") from exc


def encode_consolidated(metadata: Mapping[str, Any]) -> bytes:
    """The ``.zmetadata`` bytes: ``{"metadata": {key: doc}, "zarr_consolidated_format": 1}``.

    Values may be raw documents (bytes/str, parsed here) or already-parsed mappings.
    """
    docs = {
        name: dict(doc) if isinstance(doc, Mapping) else json_loads(doc, name)
        for name, doc in metadata.items()
    }
    return json_dumps({"zarr_consolidated_format": 1, "metadata": docs})


def parse_consolidated(data: bytes | str | Mapping[str, Any], key: str = CONSOLIDATED_KEY) -> dict[str, Any]:
    """The ``{key: parsed document}`` mapping inside a ``.zmetadata`` document (format 1)."""
    doc = _load_object(data, key, "consolidated metadata")
    fmt = doc.get("zarr_consolidated_format")
    if isinstance(fmt, bool) or fmt != 1:
        raise MetadataError(f"{key}: unsupported zarr_consolidated_format {_short(fmt)}; expected 1")
    inner = doc.get("metadata")
    if not isinstance(inner, dict):
        raise MetadataError(f"{key}: 'metadata' must be a JSON object, got {_short(inner)}")
    for name, value in inner.items():
        if not isinstance(value, dict):
            raise MetadataError(f"{key}: metadata[{name!r}] must be a JSON object, got {_short(value)}")
    return inner
